using System.CommandLine;
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
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Cli;

/// <summary>
/// `render -f FILE`: the objects the operator would create for the resources in FILE, with no cluster — what
/// `helm template` is to a chart. Each controller renders with the same planning code it reconciles with.
/// </summary>
public sealed class RenderCommand
{
    private readonly Option<string[]> _files = new("--filename", "-f")
    {
        Description = "a file, a directory (its .yaml, .yml and .json files) or - for standard input; as often as needed",
        Required = true,
    };
    private readonly Option<string> _operatorNamespace = CliOption.Text("--operator-namespace",
        "namespace of the operator's issuer Service, as `run` would have it", "analysisfacility-system", "AF_OPERATOR_NAMESPACE");

    public RenderCommand()
    {
        Command = new Command("render", "print the objects the operator would create for the resources given (no cluster)") { _files, _operatorNamespace };
        Command.SetAction(Run);
    }

    public Command Command { get; }

    /// <summary>Every -f and --filename, in command-line order.</summary>
    public IReadOnlyList<string> Sources(ParseResult result) => result.GetRequiredValue(_files);

    private int Run(ParseResult result)
    {
        var output = Render(ReadSources(Sources(result), Console.In), new OperatorSettings { OperatorNamespace = result.GetRequiredValue(_operatorNamespace) });
        Console.Out.Write(output);
        return 0;
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
            Facilities = YamlDocuments.OfKind<FacilityResource>(yaml, "AnalysisFacility", ApiJson.Options),
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
        foreach (var cluster in set.DaskClusters) objects.AddRange(DaskPlanning.Render(cluster, set).Select(o => ($"DaskCluster/{cluster.Metadata.Name}", o)));
        foreach (var cache in set.XCaches) objects.AddRange(XCachePlanning.Render(cache, set).Select(o => ($"XCacheInstance/{cache.Metadata.Name}", o)));

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
