using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace AnalysisFacility.Operator.Benchmarks;

/// <summary>
/// An object as far as the benchmark reads it: its metadata (spec, status and data are skipped while decoding). The
/// benchmark only counts and times objects, and its observers should not take CPU from the operator they measure.
/// </summary>
internal sealed class ObjectMetadata : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = "";
    [JsonPropertyName("kind")] public string Kind { get; set; } = "";
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
}

/// <summary>Metadata of the benchmark's own shapes, beside the operator's (<see cref="Builders.Common.ApiJson.With"/>).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ObjectMetadata))]
internal sealed partial class BenchJsonContext : JsonSerializerContext;
