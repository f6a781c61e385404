using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace AnalysisFacility.Operator.Builders.Dask;

/// <summary>
/// An object of a kind the operator has no C# model for (e.g. Traefik's IngressRouteTCP): envelope typed, spec free-form,
/// so the operator does not depend on a third-party CRD's schema version.
/// </summary>
public sealed class UnstructuredObject : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = "";
    [JsonPropertyName("kind")] public string Kind { get; set; } = "";
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [JsonPropertyName("spec")] public JsonObject Spec { get; set; } = [];
}
