using System.Text.Json;

namespace AnalysisFacility.Operator.Runtime.Client;

/// <summary>A watch event as the API server sends it: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.</summary>
/// <remarks>The object stays raw JSON: a cache decodes it straight to its typed form, or skips it when it already holds
/// that resourceVersion (the echo of its own write). It lives in the pooled document of its line: read it before the
/// event is disposed (the watch's reader disposes it when the next event is asked for).</remarks>
public sealed class WatchEvent(string type, JsonElement obj, JsonDocument? document = null) : IDisposable
{
    public string Type { get; } = type;
    public JsonElement Object { get; } = obj;

    // Looked up once: an informer reads name, namespace and resourceVersion of every event.
    public JsonElement? Metadata { get; } = obj.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object ? metadata : null;

    public string? MetadataString(string name) => Metadata is { } metadata ? StringProperty(metadata, name) : null;

    /// <summary>A string property of a JSON object, or null when it is absent or not a string.</summary>
    public static string? StringProperty(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public string? ResourceVersion => MetadataString("resourceVersion");

    public void Dispose() => document?.Dispose();
}
