using AnalysisFacility.Operator.Controllers.Facility;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Controllers;
using AnalysisFacility.Operator.Runtime.Hosting;
using AnalysisFacility.Operator.Tokens.Discovery;
using AnalysisFacility.Operator.Tokens.Keys;
using k8s.Models;
using Serilog;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Controllers.Sessions;

/// <summary>Reconciles UserSession resources.</summary>
public static class UserSessionController
{
    public const string Name = "usersession";

    /// <summary>Creates the informers and the controller and adds them to <paramref name="manager"/>.</summary>
    public static void Register(OperatorManager manager, OperatorSettings settings, IssuerRegistry issuers, ILogger log)
    {
        _ = issuers; // tokens are signed with the ring from the facility's key Secret, which the facility controller publishes
        // Primary kinds of other controllers are cached whole (a selector here would hide unlabelled user objects from them).
        var sessions = manager.Informer<UserSession>();
        var facilities = manager.Informer<FacilityResource>();
        var daskClusters = manager.Informer<DaskCluster>();
        var children = new SessionChildren(
            manager.Informer<V1Pod>(OperatorSettings.ManagedSelector),
            manager.Informer<V1Service>(OperatorSettings.ManagedSelector),
            manager.Informer<V1ConfigMap>(OperatorSettings.ManagedSelector),
            manager.Informer<V1ServiceAccount>(OperatorSettings.ManagedSelector),
            manager.Informer<V1NetworkPolicy>(OperatorSettings.ManagedSelector),
            manager.Informer<V1Secret>(OperatorSettings.ManagedSelector),
            daskClusters);

        var reconciler = new UserSessionReconciler(manager, facilities, children, TimeProvider.System, log.ForContext("Controller", Name));
        var controller = new Controller<UserSession>(Name, sessions, reconciler, manager.Api, manager.Metrics, log, settings.Workers)
            .Owns(children.Pods)
            .Owns(children.Services)
            .Owns(children.ConfigMaps)
            .Owns(children.ServiceAccounts)
            .Owns(children.NetworkPolicies)
            .Owns(children.Secrets)
            .Owns(daskClusters)
            // Every session of a facility when the facility changes (endpoints, profiles, store mapping, culling).
            .Watches(facilities, f => sessions.List(f.Metadata.NamespaceProperty)
                .Where(s => s.Spec.FacilityRef == f.Metadata.Name).Select(ObjectKey.Of))
            // The issuer key Secret: sessions waiting for a first key, or whose token's key was retired.
            .Watches(children.Secrets, s => s.Data?.ContainsKey(KeyRingSecret.ScheduleKey) != true ? [] : sessions.List(s.Metadata.NamespaceProperty)
                .Where(x => FacilitySecrets.IssuerKeysSecretName(x.Spec.FacilityRef) == s.Metadata.Name).Select(ObjectKey.Of));
        manager.Add(controller);
    }
}

/// <summary>The shared informers of what a session owns.</summary>
internal sealed record SessionChildren(
    Informer<V1Pod> Pods,
    Informer<V1Service> Services,
    Informer<V1ConfigMap> ConfigMaps,
    Informer<V1ServiceAccount> ServiceAccounts,
    Informer<V1NetworkPolicy> NetworkPolicies,
    Informer<V1Secret> Secrets,
    Informer<DaskCluster> DaskClusters);
