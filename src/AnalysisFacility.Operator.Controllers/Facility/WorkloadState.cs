using k8s;
using k8s.Models;

namespace AnalysisFacility.Operator.Controllers.Facility;

/// <summary>Observed readiness of one workload (Deployment, StatefulSet or DaemonSet).</summary>
public sealed record WorkloadState(bool Exists, int Desired, int Ready, bool Current)
{
    public static readonly WorkloadState Missing = new(false, 0, 0, false);

    public bool IsReady => Exists && Current && Ready >= Desired;

    /// <summary>Reads a cached workload; <see cref="Current"/> means its controller has seen the latest spec and rolled it out.</summary>
    public static WorkloadState Of(IKubernetesObject<V1ObjectMeta>? obj) => obj switch
    {
        V1Deployment d => new(true, d.Spec?.Replicas ?? 1, d.Status?.ReadyReplicas ?? 0,
            (d.Status?.ObservedGeneration ?? 0) >= (d.Metadata.Generation ?? 0) && (d.Status?.UpdatedReplicas ?? 0) >= (d.Spec?.Replicas ?? 1)),
        V1StatefulSet s => new(true, s.Spec?.Replicas ?? 1, s.Status?.ReadyReplicas ?? 0,
            (s.Status?.ObservedGeneration ?? 0) >= (s.Metadata.Generation ?? 0)),
        V1DaemonSet ds => new(true, ds.Status?.DesiredNumberScheduled ?? 0, ds.Status?.NumberReady ?? 0,
            (ds.Status?.ObservedGeneration ?? 0) >= (ds.Metadata.Generation ?? 0)
            && (ds.Status?.UpdatedNumberScheduled ?? 0) >= (ds.Status?.DesiredNumberScheduled ?? 0)),
        _ => Missing,
    };
}
