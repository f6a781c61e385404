using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace AnalysisFacility.Operator.Tests.Delivery;

/// <summary>Reads the delivery manifests (multi-document YAML) as JSON trees for comparisons.</summary>
public static class DeliveryFiles
{
    public static string PathOf(params string[] parts) => Path.Combine([RepositoryRoot.Path, .. parts]);

    public static IReadOnlyList<JsonObject> Objects(string yaml)
    {
        var deserializer = new DeserializerBuilder().Build();
        var json = new SerializerBuilder().JsonCompatible().Build();
        var parser = new YamlDotNet.Core.Parser(new StringReader(yaml));
        parser.Consume<StreamStart>();
        var result = new List<JsonObject>();
        while (parser.Accept<DocumentStart>(out _))
        {
            var document = deserializer.Deserialize<object?>(parser);
            if (document is not null) result.Add(JsonNode.Parse(json.Serialize(document))!.AsObject());
        }
        return result;
    }

    public static IReadOnlyList<JsonObject> ObjectsInFiles(string directory, string pattern = "*.yaml") =>
        Directory.GetFiles(directory, pattern).Order(StringComparer.Ordinal)
            .Where(f => Path.GetFileName(f) != "kustomization.yaml")
            .SelectMany(f => Objects(File.ReadAllText(f))).ToList();

    public static JsonObject Single(IEnumerable<JsonObject> objects, string kind, string? name = null) =>
        objects.Single(o => (string?)o["kind"] == kind && (name is null || (string?)o["metadata"]?["name"] == name));
}
