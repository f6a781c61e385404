using System.Text.Json;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.Operator.Controllers.Dask;
using AnalysisFacility.Operator.Controllers.Facility;
using AnalysisFacility.Operator.Controllers.Sessions;
using AnalysisFacility.Operator.Controllers.XCache;
using AnalysisFacility.Operator.Runtime.Client;
using k8s;
using k8s.Models;

namespace AnalysisFacility.Operator.Cli;

/// <summary>
/// `render -f FILE`: the objects the operator would create for the resources in FILE, with no cluster — what
/// `helm template` is to a chart. Each controller renders with the same planning code it reconciles with.
/// </summary>
public static class RenderCommand
{
    public const string Usage = "";

    public static Task<int> RunAsync(CommandLine line)
    {
        var sources = line.GetAll("f", "filename");
        if (sources.Count == 0) throw new ArgumentException("render needs -f FILE (a file, a directory or -, as often as needed)");
        var output = Render(ReadSources(sources, Console.In), new OperatorSettings { OperatorNamespace = line.Get("operator-namespace", "AF_OPERATOR_NAMESPACE", "analysisfacility-system")! });
        Console.Out.Write(output);
        return Task.FromResult(0);
    }

    /// <summary>
    /// The documents of every -f, as kubectl reads them: a file, every .yaml/.yml/.json file of a directory (not its
    /// subdirectories, in name order), or - for standard input. Resources in one source may refer to another's.
    /// </summary>
    public static string ReadSources(IReadOnlyList<string> sources, TextReader standardInput)
    {
        var texts = new List<string>();
        foreach (var source in sources)
        {
            if (source == "-")
            {
                texts.Add(standardInput.ReadToEnd());
            }
            else if (Directory.Exists(source))
            {
                var files = Directory.EnumerateFiles(source)
                    .Where(f => Path.GetExtension(f) is ".yaml" or ".yml" or ".json")
                    .Order(StringComparer.Ordinal).ToList();
                if (files.Count == 0) throw new ArgumentException($"{source} holds no .yaml, .yml or .json file");
                texts.AddRange(files.Select(File.ReadAllText));
            }
            else if (File.Exists(source))
            {
                texts.Add(File.ReadAllText(source));
            }
            else
            {
                throw new ArgumentException($"{source} does not exist (relative to {Directory.GetCurrentDirectory()})");
            }
        }
        // Each source starts a new document, so a file without a leading --- never merges into the previous one.
        return string.Join("\n---\n", texts);
    }

    /// <summary>YAML documents for every object the resources in <paramref name="yaml"/> lead to.</summary>
    public static string Render(string yaml, OperatorSettings settings)
    {
        var documents = YamlDocuments.Parse(yaml);
        var set = new RenderSet
        {
            Facilities = YamlDocuments.OfKind<AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility>(yaml, "AnalysisFacility", ApiJson.Options),
            Sessions = YamlDocuments.OfKind<UserSession>(yaml, "UserSession", ApiJson.Options),
            DaskClusters = YamlDocuments.OfKind<DaskCluster>(yaml, "DaskCluster", ApiJson.Options),
            XCaches = YamlDocuments.OfKind<XCacheInstance>(yaml, "XCacheInstance", ApiJson.Options),
        };
        if (set.Facilities.Count + set.Sessions.Count + set.DaskClusters.Count + set.XCaches.Count == 0)
        {
            throw new ArgumentException($"no analysisfacility.io resources found among {documents.Count} documents");
        }
        var objects = new List<(string Source, IKubernetesObject<V1ObjectMeta> Object)>();
        foreach (var facility in set.Facilities) objects.AddRange(FacilityRendering.Render(facility, set, settings).Select(o => ($"AnalysisFacility/{facility.Metadata.Name}", o)));
        foreach (var session in set.Sessions) objects.AddRange(SessionRendering.Render(session, set, settings).Select(o => ($"UserSession/{session.Metadata.Name}", o)));
        foreach (var cluster in set.DaskClusters) objects.AddRange(DaskRendering.Render(cluster, set, settings).Select(o => ($"DaskCluster/{cluster.Metadata.Name}", o)));
        foreach (var cache in set.XCaches) objects.AddRange(XCacheRendering.Render(cache, set, settings).Select(o => ($"XCacheInstance/{cache.Metadata.Name}", o)));

        var text = new System.Text.StringBuilder();
        foreach (var (source, obj) in objects)
        {
            // Through JSON so field names are exactly the API's, then to plain YAML.
            using var json = JsonDocument.Parse(ClientJson.ToUtf8(obj, ApiJson.Options));
            text.Append("---\n# Source: ").Append(source).Append('\n').Append(PlainYaml.Serialize(ToPlain(json.RootElement)));
        }
        return text.ToString();
    }

    private static object? ToPlain(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().ToDictionary(p => p.Name, p => ToPlain(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().Select(ToPlain).ToList(),
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.TryGetInt64(out var l) ? l : element.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };
}
