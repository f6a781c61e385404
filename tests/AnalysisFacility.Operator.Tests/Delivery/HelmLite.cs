using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;

namespace AnalysisFacility.Operator.Tests.Delivery;

/// <summary>
/// A deliberately small stand-in for `helm template` (no Helm binary here). It understands exactly the subset the
/// chart's templates use: `{{ .Values.a.b }}`, `.Release.Name/Namespace`, `.Chart.Name/AppVersion`, the functions
/// `quote`, `join`, `toYaml`, `nindent`, whitespace trimming with `{{-`/`-}}`, and `if`/`else`/`end` blocks.
/// Anything else throws, so a template that grows beyond this subset fails the tests instead of rendering wrongly.
/// </summary>
public sealed partial class HelmLite(IDictionary<object, object> values, string releaseName, string releaseNamespace, IDictionary<object, object> chart)
{
    public static IDictionary<object, object> LoadYaml(string path) =>
        new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(File.ReadAllText(path)) ?? new Dictionary<object, object>();

    /// <summary>Deep-merges <paramref name="overrides"/> into <paramref name="values"/> (like `--set`/`-f`).</summary>
    public static IDictionary<object, object> Merge(IDictionary<object, object> values, IDictionary<object, object> overrides)
    {
        var merged = new Dictionary<object, object>(values);
        foreach (var (key, value) in overrides)
        {
            merged[key] = value is IDictionary<object, object> child && merged.TryGetValue(key, out var existing) && existing is IDictionary<object, object> baseChild
                ? Merge(baseChild, child) : value;
        }
        return merged;
    }

    public string Render(string template)
    {
        // 1. Whitespace trimming, as Go templates do it: `{{-` eats whitespace before, `-}}` after.
        template = LeftTrim().Replace(template, "{{");
        template = RightTrim().Replace(template, "}}");
        // 2. Actions, in order, with a stack for if/else/end.
        var output = new StringBuilder();
        var stack = new Stack<(bool Parent, bool Condition, bool InElse)>();
        var active = true;
        var position = 0;
        foreach (Match action in Action().Matches(template))
        {
            if (active) output.Append(template, position, action.Index - position);
            position = action.Index + action.Length;
            var body = action.Groups[1].Value.Trim();
            if (body.StartsWith("if ", StringComparison.Ordinal))
            {
                var condition = Truthy(Evaluate(body[3..].Trim()));
                stack.Push((active, condition, false));
                active = active && condition;
            }
            else if (body == "else")
            {
                var (parent, condition, _) = stack.Pop();
                stack.Push((parent, condition, true));
                active = parent && !condition;
            }
            else if (body == "end")
            {
                active = stack.Pop().Parent;
            }
            else if (active)
            {
                output.Append(Format(Evaluate(body)));
            }
        }
        if (stack.Count > 0) throw new FormatException("unclosed {{ if }}");
        output.Append(template, position, template.Length - position);
        return output.ToString();
    }

    private object? Evaluate(string pipeline)
    {
        object? value = null;
        var first = true;
        foreach (var stage in pipeline.Split('|').Select(s => s.Trim()))
        {
            var words = Words().Matches(stage).Select(m => m.Value).ToList();
            var args = words.Skip(1).Select(Argument).ToList();
            if (!first) args.Add(value);
            value = words[0].StartsWith('.') && words.Count == 1 && first ? Lookup(words[0]) : Call(words[0], args);
            first = false;
        }
        return value;
    }

    private object? Argument(string word) =>
        word.StartsWith('"') ? word[1..^1]
        : word.StartsWith('.') ? Lookup(word)
        : int.TryParse(word, CultureInfo.InvariantCulture, out var number) ? number
        : throw new FormatException($"unsupported argument '{word}'");

    private static object? Call(string function, IReadOnlyList<object?> args) => function switch
    {
        "quote" => "\"" + Format(args[0]).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"",
        "join" => string.Join((string)args[0]!, ((IEnumerable<object>?)args[1] ?? []).Select(Format)),
        "toYaml" => new SerializerBuilder().Build().Serialize(args[0]).TrimEnd('\n'),
        "nindent" => "\n" + Indent(Format(args[1]), (int)args[0]!),
        "indent" => Indent(Format(args[1]), (int)args[0]!),
        _ => throw new FormatException($"unsupported template function '{function}'"),
    };

    private object? Lookup(string path)
    {
        var parts = path.TrimStart('.').Split('.');
        object? current = parts[0] switch
        {
            "Values" => values,
            "Release" => new Dictionary<object, object> { ["Name"] = releaseName, ["Namespace"] = releaseNamespace },
            "Chart" => new Dictionary<object, object> { ["Name"] = chart["name"], ["AppVersion"] = chart["appVersion"], ["Version"] = chart["version"] },
            _ => throw new FormatException($"unsupported object '{path}'"),
        };
        foreach (var part in parts.Skip(1))
        {
            current = current is IDictionary<object, object> map && map.TryGetValue(part, out var next) ? next : null;
        }
        return current;
    }

    private static bool Truthy(object? value) => value switch
    {
        null => false,
        bool b => b,
        string s => s.Length > 0 && s != "false",
        IEnumerable<object> list => list.Any(),
        _ => true,
    };

    private static string Format(object? value) => value switch
    {
        null => "",
        string s => s,
        IDictionary<object, object> or IEnumerable<object> => throw new FormatException("a map or list needs toYaml"),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    private static string Indent(string text, int width) =>
        string.Join("\n", text.Split('\n').Select(line => new string(' ', width) + line));

    /// <summary>Splits a rendered manifest into YAML documents, dropping empty ones (as Helm does).</summary>
    public static IReadOnlyList<YamlMappingNode> Documents(string rendered)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(rendered));
        return stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>().ToList();
    }

    [GeneratedRegex(@"\s*\{\{-")] private static partial Regex LeftTrim();
    [GeneratedRegex(@"-\}\}\s*")] private static partial Regex RightTrim();
    [GeneratedRegex(@"\{\{(.*?)\}\}")] private static partial Regex Action();
    [GeneratedRegex("\"[^\"]*\"|\\S+")] private static partial Regex Words();
}
