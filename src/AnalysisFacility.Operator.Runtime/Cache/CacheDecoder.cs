using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using AnalysisFacility.Operator.Runtime.Client;
using k8s.Models;

namespace AnalysisFacility.Operator.Runtime.Cache;

/// <summary>
/// Turns API server JSON into the typed objects an informer caches, built for objects that live long in memory:
/// <c>metadata.managedFields</c> is skipped while reading (server-side apply's field ownership is often larger than the
/// object, and reconcilers never read it), and short strings that recur across objects (label keys and values, env names,
/// images, mount paths) are shared instead of held once per object. One decoder serves all informers of a process, so
/// a label written on seven kinds of object is one string in memory.
/// </summary>
public sealed class CacheDecoder
{
    private readonly JsonSerializerOptions _options;

    /// <param name="json">The client's JSON settings (<see cref="KubernetesApi.Json"/>), copied.</param>
    /// <param name="internTableSize">Slots of the string table (rounded up to a power of two); 0 turns sharing off.</param>
    public CacheDecoder(JsonSerializerOptions json, bool stripManagedFields = true, int internTableSize = 1 << 14)
    {
        _options = new JsonSerializerOptions(json);
        if (stripManagedFields) _options.TypeInfoResolver = json.TypeInfoResolver!.WithAddedModifier(SkipManagedFields);
        if (internTableSize > 0) _options.Converters.Insert(0, new SharedStringConverter(new StringTable(internTableSize)));
        _options.MakeReadOnly();
    }

    public T Decode<T>(JsonElement json) => (T)json.Deserialize(_options.GetTypeInfo(typeof(T)))!;

    public T Decode<T>(JsonNode json) => (T)json.Deserialize(_options.GetTypeInfo(typeof(T)))!;

    public T Decode<T>(ReadOnlySpan<byte> utf8Json) => (T)JsonSerializer.Deserialize(utf8Json, _options.GetTypeInfo(typeof(T)))!;

    private static void SkipManagedFields(JsonTypeInfo info)
    {
        if (info.Type != typeof(V1ObjectMeta)) return;
        for (var i = info.Properties.Count - 1; i >= 0; i--)
        {
            if (info.Properties[i].Name == "managedFields") info.Properties.RemoveAt(i);
        }
    }

    /// <summary>
    /// A fixed-size, direct-mapped table of strings: a string read again finds its earlier copy in the slot its hash names,
    /// a different string in that slot replaces it. Memory is bounded whatever the operator sees over months, strings that
    /// recur stay shared, and a lost race between threads costs only a missed share (slot writes are atomic).
    /// </summary>
    internal sealed class StringTable
    {
        /// <summary>Longer strings (config files, certificates) are rarely repeated and not worth a slot.</summary>
        public const int MaxLength = 128;
        private readonly string?[] _slots;
        private readonly int _mask;

        public StringTable(int size)
        {
            var slots = 1;
            while (slots < size) slots <<= 1;
            _slots = new string?[slots];
            _mask = slots - 1;
        }

        public string Share(ReadOnlySpan<char> value)
        {
            if (value.Length == 0) return string.Empty;
            var slot = string.GetHashCode(value) & _mask;
            var existing = Volatile.Read(ref _slots[slot]);
            if (existing is not null && value.SequenceEqual(existing)) return existing;
            var created = value.ToString();
            Volatile.Write(ref _slots[slot], created);
            return created;
        }
    }

    private sealed class SharedStringConverter(StringTable table) : JsonConverter<string>
    {
        public override bool HandleNull => false;

        public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.String ? ReadShared(ref reader) : throw new JsonException($"expected a string, got {reader.TokenType}");

        public override string ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            ReadShared(ref reader);

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);

        public override void WriteAsPropertyName(Utf8JsonWriter writer, string value, JsonSerializerOptions options) =>
            writer.WritePropertyName(value);

        private string ReadShared(ref Utf8JsonReader reader)
        {
            // Escaped or split values, and long ones, take the ordinary path.
            if (reader.ValueIsEscaped || reader.HasValueSequence || reader.ValueSpan.Length > StringTable.MaxLength) return reader.GetString()!;
            Span<char> chars = stackalloc char[StringTable.MaxLength];
            var count = Encoding.UTF8.GetChars(reader.ValueSpan, chars);
            return table.Share(chars[..count]);
        }
    }
}
