using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using AnalysisFacility.Operator.Api;
using AnalysisFacility.Operator.Builders.Dask;
using AnalysisFacility.Operator.Runtime.Client;

namespace AnalysisFacility.Operator.Builders.Common;

/// <summary>
/// The JSON settings of the operator: the custom resources' and the builders' source-generated metadata beside
/// KubernetesClient's built-in models, so no object is written or read by reflection (the shipped operator is NativeAOT).
/// One immutable instance.
/// </summary>
public static class ApiJson
{
    public static JsonSerializerOptions Options { get; } = ClientJson.Compose(Resolvers);

    /// <summary>These settings with the metadata of a program's own shapes first (a benchmark's metadata-only objects).</summary>
    public static JsonSerializerOptions With(IJsonTypeInfoResolver own) => ClientJson.Compose([own, .. Resolvers]);

    private static IJsonTypeInfoResolver[] Resolvers => [ApiJsonContext.Default, BuilderJsonContext.Default];

    /// <summary>The JSON tree of a typed object (a custom resource or a built-in model), as the API server is sent it.</summary>
    public static JsonObject ToNode(object obj) => ClientJson.ToNode(obj, Options);

    /// <summary>A JSON object typed as <typeparamref name="T"/>.</summary>
    public static T Decode<T>(JsonNode json) => ClientJson.Decode<T>(json, Options);

    /// <summary>JSON text typed as <typeparamref name="T"/>.</summary>
    public static T Decode<T>(string json) => ClientJson.Decode<T>(json, Options);

    /// <summary>A typed object as JSON text.</summary>
    public static string Serialize(object obj) => JsonSerializer.Serialize(obj, Options.GetTypeInfo(obj.GetType()));
}

/// <summary>Metadata of the objects the builders make that are neither custom resources nor built-in models.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(UnstructuredObject))]
public sealed partial class BuilderJsonContext : JsonSerializerContext;
