using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Runtime.Controllers;
using AnalysisFacility.Operator.Runtime.Hosting;
using k8s;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Controllers.Facility;

/// <summary>The shared informers (managed objects only) of every kind a facility makes.</summary>
internal sealed class FacilityChildren
{
    private readonly List<(ResourceType Type, Func<IEnumerable<IKubernetesObject<V1ObjectMeta>>> List, Action<Controller<FacilityResource>> Watch)> _kinds = [];

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

    public void Watch(Controller<FacilityResource> controller)
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
