using k8s;
using k8s.Models;

namespace AnalysisFacility.Operator.Builders.Facility;

/// <summary>Marks objects that hold user or service data so the controller never deletes them when pruning.</summary>
public static class DataRetention
{
    /// <summary>Annotation set to "true" on PVs, PVCs and PVC templates holding data the operator must keep.</summary>
    public const string Annotation = "analysisfacility.io/retain";

    public static bool IsRetained(IKubernetesObject<V1ObjectMeta> obj) =>
        obj.Metadata?.Annotations is { } annotations && annotations.TryGetValue(Annotation, out var value) && value == "true";

    internal static void Mark(V1ObjectMeta metadata, bool retain)
    {
        if (!retain) return;
        metadata.Annotations ??= new Dictionary<string, string>();
        metadata.Annotations[Annotation] = "true";
    }
}
