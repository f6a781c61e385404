using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Runtime.Controllers;
using AnalysisFacility.Operator.Runtime.Hosting;
using AnalysisFacility.Operator.Tokens.Discovery;
using k8s;
using k8s.Models;
using Serilog;
using AF = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Controllers.Facility;

/// <summary>Reconciles AnalysisFacility resources.</summary>
public static class FacilityController
{
    public const string Name = "analysisfacility";

    /// <summary>How long session changes are gathered before the facility's identity map is rebuilt.</summary>
    public static readonly TimeSpan SessionChangeCoalescing = TimeSpan.FromSeconds(2);

    /// <summary>Creates the informers and the controller and adds them to <paramref name="manager"/>.</summary>
    public static void Register(OperatorManager manager, OperatorSettings settings, IssuerRegistry issuers, ILogger log)
    {
        // StatusWriter resolves types by apiVersion/kind; Types.For<T>() alone does not index custom resources by kind.
        manager.Api.Types.Register(manager.Api.Types.For<AF>());
        var facilities = manager.Informer<AF>();
        var sessions = manager.Informer<UserSession>();
        var children = new FacilityChildren(manager);
        var reconciler = new FacilityReconciler(manager, settings, issuers, children, sessions, log.ForContext("Controller", Name));
        var controller = new Controller<AF>(Name, facilities, reconciler, manager.Api, manager.Metrics, log, settings.Workers, reconciler);
        children.Watch(controller);
        // Session users become SCITOKENS identities in the schedd's map file: only an HTCondor facility cares, and a burst
        // of session changes (every status write of a thousand sessions starting) makes one facility reconcile, not one each.
        // Status writes of sessions whose users are in the map already change nothing in it.
        controller.Watches(sessions, (type, s) =>
        {
            var key = new ObjectKey(s.Metadata.NamespaceProperty, s.Spec.FacilityRef);
            if (facilities.Get(key)?.Spec.HTCondor.Enabled != true) return [];
            return type is InformerEventType.Deleted or InformerEventType.Resync || !reconciler.IdentityMaps.Publishes(key, s.Spec.User.Name) ? [key] : [];
        }, coalesce: SessionChangeCoalescing);
        manager.Add(controller);
    }
}

/// <summary>The shared informers (managed objects only) of every kind a facility makes.</summary>
internal sealed class FacilityChildren
{
    private readonly List<(ResourceType Type, Func<IEnumerable<IKubernetesObject<V1ObjectMeta>>> List, Action<Controller<AF>> Watch)> _kinds = [];

    public FacilityChildren(OperatorManager manager)
    {
        Secrets = Add<V1Secret>(manager);
        Deployments = Add<V1Deployment>(manager);
        StatefulSets = Add<V1StatefulSet>(manager);
        DaemonSets = Add<V1DaemonSet>(manager);
        Add<V1ConfigMap>(manager);
        Add<V1Service>(manager);
        Add<V1ServiceAccount>(manager);
        Add<V1Role>(manager);
        Add<V1RoleBinding>(manager);
        Add<V1Ingress>(manager);
        Add<V1NetworkPolicy>(manager);
        Add<V1PersistentVolumeClaim>(manager);
        Add<V1PersistentVolume>(manager);
        Api = manager.Api;
    }

    public KubernetesApi Api { get; }
    public Informer<V1Secret> Secrets { get; }
    public Informer<V1Deployment> Deployments { get; }
    public Informer<V1StatefulSet> StatefulSets { get; }
    public Informer<V1DaemonSet> DaemonSets { get; }

    /// <summary>Every cached object of this facility, of every kind (cluster-scoped ones matched by the namespace label).</summary>
    public IEnumerable<(ResourceType Type, IKubernetesObject<V1ObjectMeta> Object)> OwnedBy(string @namespace, string facility) =>
        _kinds.SelectMany(k => k.List().Where(o => FacilityLabels.BelongsTo(o, @namespace, facility)).Select(o => (k.Type, o)));

    public IEnumerable<(ResourceType Type, IKubernetesObject<V1ObjectMeta> Object)> OfKind<T>(string @namespace, string facility) =>
        OwnedBy(@namespace, facility).Where(e => e.Object is T);

    public void Watch(Controller<AF> controller)
    {
        foreach (var kind in _kinds) kind.Watch(controller);
    }

    public WorkloadState Observe(string @namespace, Builders.Facility.WorkloadReference workload)
    {
        var key = new ObjectKey(@namespace, workload.Name);
        return workload.Kind switch
        {
            "Deployment" => WorkloadState.Of(Deployments.Get(key)),
            "StatefulSet" => WorkloadState.Of(StatefulSets.Get(key)),
            "DaemonSet" => WorkloadState.Of(DaemonSets.Get(key)),
            _ => WorkloadState.Missing,
        };
    }

    private Informer<T> Add<T>(OperatorManager manager) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var informer = manager.Informer<T>(OperatorSettings.ManagedSelector);
        _kinds.Add((manager.Api.Types.For<T>(), () => informer.List(), controller =>
        {
            controller.Owns(informer);
            // Retained data and cluster-scoped objects carry no owner reference: map them back by label.
            controller.Watches(informer, o => o.Metadata.Labels is { } l && l.TryGetValue(FacilityLabels.Component, out _)
                && l.TryGetValue(FacilityLabels.FacilityNamespace, out var ns) && l.TryGetValue(Builders.Common.Labels.Facility, out var f)
                && (o.Metadata.OwnerReferences is null || o.Metadata.OwnerReferences.Count == 0)
                    ? [new ObjectKey(ns, f)]
                    : []);
        }));
        return informer;
    }
}
