using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace AnalysisFacility.Operator.Runtime.Client;

/// <summary>
/// The JSON settings of objects sent to and read from the API server, with no reflection (NativeAOT): KubernetesClient's
/// source-generated metadata for the built-in models (its converters for dates, quantities and int-or-string, null
/// fields left out, camelCase) chained after the metadata of a program's own resource types.
/// </summary>
public static class ClientJson
{
    /// <summary>Built-in models only.</summary>
    public static JsonSerializerOptions Models { get; } = Compose();

    /// <summary>Options that resolve <paramref name="resources"/> (source-generated contexts of custom resource types,
    /// with the same settings as KubernetesClient's) first, then the built-in models. Read-only once made.</summary>
    public static JsonSerializerOptions Compose(params IJsonTypeInfoResolver[] resources)
    {
        var options = new JsonSerializerOptions(k8s.SourceGenerationContext.Default.Options)
        {
            TypeInfoResolver = JsonTypeInfoResolver.Combine([.. resources, k8s.SourceGenerationContext.Default, RuntimeJsonContext.Default]),
        };
        options.MakeReadOnly();
        return options;
    }

    /// <summary>The JSON tree of a typed object, as the API server would be sent it (without a string in between).</summary>
    public static JsonObject ToNode(object obj, JsonSerializerOptions options) =>
        JsonSerializer.SerializeToNode(obj, options.GetTypeInfo(obj.GetType()))!.AsObject();

    /// <summary>A typed object as UTF-8 JSON, by its runtime type.</summary>
    public static byte[] ToUtf8(object obj, JsonSerializerOptions options) => JsonSerializer.SerializeToUtf8Bytes(obj, options.GetTypeInfo(obj.GetType()));

    /// <summary>A JSON tree as UTF-8 JSON.</summary>
    public static byte[] ToUtf8(JsonNode node)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer)) node.WriteTo(writer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A JSON tree as an element, for read-only comparison.</summary>
    public static JsonElement ToElement(JsonNode node) => JsonSerializer.SerializeToElement(node, RuntimeJsonContext.Default.JsonNode);

    public static T Decode<T>(JsonNode json, JsonSerializerOptions options) => (T)json.Deserialize(options.GetTypeInfo(typeof(T)))!;

    public static T Decode<T>(string json, JsonSerializerOptions options) => (T)JsonSerializer.Deserialize(json, options.GetTypeInfo(typeof(T)))!;
}

/// <summary>Metadata of the runtime's own serialised shapes (JSON trees and plain collections).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(JsonNode))]
[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
public sealed partial class RuntimeJsonContext : JsonSerializerContext;
