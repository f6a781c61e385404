using AnalysisFacility.Operator.Builders.Common;
using k8s;
using k8s.Models;

namespace AnalysisFacility.Operator.Controllers.Facility;

/// <summary>Labels the facility controller adds to everything it makes, so it can find (and prune) exactly its own objects.</summary>
public static class FacilityLabels
{
    /// <summary>Which facility component (hub, htcondor, ..., tokens) an object belongs to. Only this controller sets it:
    /// session objects also carry <see cref="Labels.Facility"/>, so that label alone must never drive pruning.</summary>
    public const string Component = "analysisfacility.io/facility-component";

    /// <summary>Namespace of the owning facility; needed on cluster-scoped objects (the store PV), set on all for uniformity.</summary>
    public const string FacilityNamespace = "analysisfacility.io/facility-namespace";

    /// <summary>Pseudo-component of the issuer key ring and CA Secrets.</summary>
    public const string TokensComponent = "tokens";

    public static bool BelongsTo(IKubernetesObject<V1ObjectMeta> obj, string @namespace, string facility)
    {
        var labels = obj.Metadata.Labels;
        return labels is not null
            && labels.TryGetValue(Component, out _)
            && labels.TryGetValue(Labels.Facility, out var f) && f == facility
            && labels.TryGetValue(FacilityNamespace, out var ns) && ns == @namespace;
    }
}
