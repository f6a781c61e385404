using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;

namespace AnalysisFacility.Operator.Runtime.Cache;

/// <summary>
/// A digest of a JSON value that does not depend on how it was written: object members sorted by name, strings
/// compared decoded (Go and .NET escape differently; the API server sorts map keys, a .NET dictionary keeps insertion
/// order). 16 hex digits of SHA-256, like the applied hash: it identifies a value, it is not a way to recover it.
/// </summary>
public static class FieldDigest
{
    public static string Of(JsonElement value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteCanonical(writer, value);
        }
        return Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan))[..16];
    }

    /// <summary>The digest of the value of a field (as <paramref name="json"/> writes it, <see cref="Client.KubernetesApi.Json"/>);
    /// null for a null value.</summary>
    public static string? Of(object? value, System.Text.Json.Serialization.Metadata.JsonPropertyInfo field, JsonSerializerOptions json) =>
        // By the field's declared type (IDictionary<string, byte[]>), which the metadata knows, not the value's own.
        value is null ? null : Of(JsonSerializer.SerializeToElement(value, json.GetTypeInfo(field.PropertyType)));

    /// <summary>The digest of the field <paramref name="jsonName"/> of a typed object; null when the field is not set.</summary>
    public static string? OfField(object obj, string jsonName, JsonSerializerOptions json)
    {
        var field = Accessor(obj.GetType(), jsonName, json);
        return Of(field.Get!(obj), field, json);
    }

    /// <summary>The serializer's accessor of a field by its JSON name (KubernetesClient's names, e.g. "data").</summary>
    internal static System.Text.Json.Serialization.Metadata.JsonPropertyInfo Accessor(Type type, string jsonName, JsonSerializerOptions json) =>
        json.GetTypeInfo(type).Properties.FirstOrDefault(p => p.Name == jsonName && p.Get is not null && p.Set is not null)
        ?? throw new ArgumentException($"{type.Name} has no settable field '{jsonName}'", nameof(jsonName));

    private static void WriteCanonical(Utf8JsonWriter writer, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in value.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(property.Name);
                    WriteCanonical(writer, property.Value);
                }
                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in value.EnumerateArray()) WriteCanonical(writer, item);
                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                writer.WriteStringValue(value.GetString());
                break;
            default:
                value.WriteTo(writer);
                break;
        }
    }
}
