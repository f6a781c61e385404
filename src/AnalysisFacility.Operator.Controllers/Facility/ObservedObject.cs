using AnalysisFacility.Operator.Builders.Facility;
using k8s;
using k8s.Models;

namespace AnalysisFacility.Operator.Controllers.Facility;

/// <summary>An object of a facility as seen in the caches, reduced to what pruning needs.</summary>
public sealed record ObservedObject(string ApiVersion, string Kind, string? Namespace, string Name, string? Component, bool Retained)
{
    public static ObservedObject Of(IKubernetesObject<V1ObjectMeta> obj) => new(obj.ApiVersion, obj.Kind, obj.Metadata.NamespaceProperty,
        obj.Metadata.Name, obj.Metadata.Labels?.TryGetValue(FacilityLabels.Component, out var c) == true ? c : null, DataRetention.IsRetained(obj));
}
