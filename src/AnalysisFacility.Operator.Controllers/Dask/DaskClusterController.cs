using AnalysisFacility.Operator.Controllers.Facility;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Dask;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Runtime.Controllers;
using AnalysisFacility.Operator.Runtime.Hosting;
using AnalysisFacility.Operator.Tokens.Discovery;
using k8s.Models;
using Serilog;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Controllers.Dask;

/// <summary>Knobs of the DaskCluster controller that the command line does not set (tests point the scaler at a local scheduler).</summary>
public sealed record DaskControllerOptions
{
    /// <summary>Base URL of a cluster's scheduler HTTP API (…/api/v1); default: the scheduler Service's DNS name in-cluster.</summary>
    public Func<DaskCluster, Uri>? SchedulerApi { get; init; }
    /// <summary>Timeout of one call to a scheduler: an unresponsive scheduler must not hold a reconcile worker for long.</summary>
    public TimeSpan SchedulerTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Consecutive low adaptive targets before workers are retired (dask's Adaptive wait_count).</summary>
    public int ScaleDownAfter { get; init; } = 3;
    /// <summary>How soon to look again when something the cluster needs (facility, CA, token) is missing.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(15);
    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>Reconciles DaskCluster resources.</summary>
public static class DaskClusterController
{
    public const string Name = "daskcluster";

    /// <summary>Creates the informers and the controller and adds them to <paramref name="manager"/>.</summary>
    public static void Register(OperatorManager manager, OperatorSettings settings, IssuerRegistry issuers, ILogger log) =>
        Register(manager, settings, issuers, log, new DaskControllerOptions());

    public static Controller<DaskCluster> Register(OperatorManager manager, OperatorSettings settings, IssuerRegistry issuers, ILogger log,
        DaskControllerOptions options)
    {
        _ = issuers; // Dask pods get tokens through the user's token Secret, which the session controller mints.
        var clusters = manager.Informer<DaskCluster>();
        // StatusWriter resolves the kind by apiVersion/kind, which the registry knows only for registered custom resources.
        var facilities = manager.Informer<FacilityResource>();
        var deployments = manager.Informer<V1Deployment>(OperatorSettings.ManagedSelector);
        var services = manager.Informer<V1Service>(OperatorSettings.ManagedSelector);
        var secrets = manager.Informer<V1Secret>(OperatorSettings.ManagedSelector);
        // Kinds without a C# model must be registered for the Applier to find their REST path.
        manager.Api.Types.Register(DaskClusterReconciler.RouteType);

        // One HttpClient for every scheduler: lives as long as the operator process.
        var http = new HttpClient { Timeout = options.SchedulerTimeout };
        var scaling = new DaskAdaptiveScaling(new DaskSchedulerClient(http), options.ScaleDownAfter);
        var schedulerApi = options.SchedulerApi ?? (cluster => DefaultSchedulerApi(cluster, settings));
        var reconciler = new DaskClusterReconciler(manager, facilities, secrets, deployments, scaling, schedulerApi, options, log.ForContext("Controller", Name));

        var controller = new Controller<DaskCluster>(Name, clusters, reconciler, manager.Api, manager.Metrics, log, settings.Workers)
            .Owns(deployments)
            .Owns(services)
            .Owns(secrets)
            .Watches(facilities, facility => clusters.List(facility.Metadata.NamespaceProperty)
                .Where(cluster => cluster.Spec.FacilityRef == facility.Metadata.Name).Select(ObjectKey.Of))
            // The facility CA and the user's token Secret are not ours: follow them by name.
            .Watches(secrets, secret => clusters.List(secret.Metadata.NamespaceProperty)
                .Where(cluster => secret.Metadata.Name == FacilitySecrets.CaSecretName(cluster.Spec.FacilityRef)
                                  || secret.Metadata.Name == DaskPlanning.TokenSecretName(cluster))
                .Select(ObjectKey.Of));
        clusters.AddHandler((type, cluster) =>
        {
            if (type == InformerEventType.Deleted) reconciler.Forget(cluster);
        });
        manager.Add(controller);
        return controller;
    }

    /// <summary>The scheduler's HTTP API through its Service (the dashboard port serves /api/v1).</summary>
    public static Uri DefaultSchedulerApi(DaskCluster cluster, OperatorSettings settings) =>
        new($"http://{DaskNames.Scheduler(cluster.Metadata.Name)}.{cluster.Metadata.NamespaceProperty}.svc.{settings.ClusterDomain}:{DaskNames.DashboardPort}/api/v1");
}
