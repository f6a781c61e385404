using AnalysisFacility.Operator.Controllers.Facility;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Controllers.Dask;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Controllers;
using AnalysisFacility.Operator.Runtime.Hosting;
using AnalysisFacility.Operator.Tokens.Discovery;
using k8s.Models;
using Serilog;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Controllers.XCache;

/// <summary>Reconciles XCacheInstance resources.</summary>
public static class XCacheInstanceController
{
    public const string Name = "xcacheinstance";

    /// <summary>Creates the informers and the controller and adds them to <paramref name="manager"/>.</summary>
    public static void Register(OperatorManager manager, OperatorSettings settings, IssuerRegistry issuers, ILogger log) =>
        Register(manager, settings, issuers, log, TimeProvider.System);

    public static Controller<XCacheInstance> Register(OperatorManager manager, OperatorSettings settings, IssuerRegistry issuers, ILogger log, TimeProvider time)
    {
        _ = issuers; // the cache fetches the issuer's keys itself over HTTPS
        var instances = manager.Informer<XCacheInstance>();
        // StatusWriter resolves the kind by apiVersion/kind, which the registry knows only for registered custom resources.
        var facilities = manager.Informer<FacilityResource>();
        var statefulSets = manager.Informer<V1StatefulSet>(OperatorSettings.ManagedSelector);
        var services = manager.Informer<V1Service>(OperatorSettings.ManagedSelector);
        var configMaps = manager.Informer<V1ConfigMap>(OperatorSettings.ManagedSelector);
        var secrets = manager.Informer<V1Secret>(OperatorSettings.ManagedSelector);
        var reconciler = new XCacheInstanceReconciler(manager, facilities, statefulSets, secrets, settings, time);
        var controller = new Controller<XCacheInstance>(Name, instances, reconciler, manager.Api, manager.Metrics, log, settings.Workers)
            .Owns(statefulSets)
            .Owns(services)
            .Owns(configMaps)
            .Owns(secrets)
            .Watches(facilities, facility => instances.List(facility.Metadata.NamespaceProperty)
                .Where(instance => XCachePlanning.FacilityRef(instance) == facility.Metadata.Name).Select(ObjectKey.Of))
            .Watches(secrets, secret => instances.List(secret.Metadata.NamespaceProperty)
                .Where(instance => XCachePlanning.FacilityRef(instance) is { } facility && secret.Metadata.Name == FacilitySecrets.CaSecretName(facility))
                .Select(ObjectKey.Of));
        manager.Add(controller);
        return controller;
    }
}
