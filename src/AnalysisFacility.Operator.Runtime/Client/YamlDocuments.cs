using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace AnalysisFacility.Operator.Runtime.Client;

/// <summary>
/// Reads multi-document YAML as JSON objects with YAML 1.2 core-schema typing (plain scalars become numbers, booleans
/// or null; quoted ones stay strings), then types them with the client's JSON settings (<see cref="ClientJson.Compose"/>).
/// Unlike KubernetesYaml this honours [JsonPropertyName], so every field name is read exactly as the API server reads it,
/// and nothing is read by reflection.
/// </summary>
public static class YamlDocuments
{
    public static IReadOnlyList<JsonObject> Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents
            .Select(d => ToJson(d.RootNode))
            .OfType<JsonObject>()
            .ToList();
    }

    /// <summary>Deserialises one JSON object into <typeparamref name="T"/> with <paramref name="options"/>.</summary>
    public static T As<T>(JsonObject json, JsonSerializerOptions options) => ClientJson.Decode<T>(json, options);

    /// <summary>The first (usually only) document of <paramref name="yaml"/>, typed.</summary>
    public static T Single<T>(string yaml, JsonSerializerOptions options) => As<T>(Parse(yaml)[0], options);

    /// <summary>The objects of <paramref name="yaml"/> whose kind is <paramref name="kind"/>, typed.</summary>
    public static IReadOnlyList<T> OfKind<T>(string yaml, string kind, JsonSerializerOptions options) =>
        Parse(yaml).Where(o => o["kind"]?.GetValue<string>() == kind).Select(o => As<T>(o, options)).ToList();

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(e =>
            KeyValuePair.Create(((YamlScalarNode)e.Key).Value ?? "", ToJson(e.Value)))),
        YamlSequenceNode sequence => new JsonArray(sequence.Children.Select(ToJson).ToArray()),
        YamlScalarNode scalar => Scalar(scalar),
        _ => null,
    };

    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded)
        {
            return JsonValue.Create(text);
        }
        if (text is "" or "~" or "null" or "Null" or "NULL") return null;
        if (text is "true" or "True" or "TRUE") return JsonValue.Create(true);
        if (text is "false" or "False" or "FALSE") return JsonValue.Create(false);
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer)) return JsonValue.Create(integer);
        if (System.Text.RegularExpressions.Regex.IsMatch(text, @"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
            && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return JsonValue.Create(number);
        }
        return JsonValue.Create(text);
    }
}
