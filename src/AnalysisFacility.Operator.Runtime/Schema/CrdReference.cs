using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace AnalysisFacility.Operator.Runtime.Schema;

/// <summary>
/// Markdown reference of custom resources. It walks the schema <see cref="CrdGenerator"/> produces from the same
/// attributes, so the reference cannot say something the CRD does not (descriptions, types, defaults, validation).
/// </summary>
[RequiresUnreferencedCode(CrdGenerator.Reflection)]
[RequiresDynamicCode(CrdGenerator.Reflection)]
public static class CrdReference
{
    /// <summary>One section for the resource: names, printer columns, then a table of every spec and status field.</summary>
    public static string ToMarkdown(Type resourceType)
    {
        var resource = resourceType.GetCustomAttribute<CustomResourceAttribute>()
            ?? throw new ArgumentException($"{resourceType.Name} has no [CustomResource] attribute");
        var crd = CrdGenerator.Generate(resourceType);
        var version = (IDictionary<string, object>)((IList<object>)Child(crd, "spec")["versions"])[0];
        var root = Child(Child(version, "schema"), "openAPIV3Schema");
        var properties = Child(root, "properties");

        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"## {resource.Kind}\n\n");
        text.Append(Escape(resource.Description)).Append("\n\n");
        text.Append(CultureInfo.InvariantCulture, $"- API version: `{resource.Group}/{resource.Version}`, namespaced: {(resource.Namespaced ? "yes" : "no")}\n");
        text.Append(CultureInfo.InvariantCulture, $"- Plural: `{resource.Plural}`");
        if (resource.ShortNames.Length > 0) text.Append("; short names: ").Append(string.Join(", ", resource.ShortNames.Select(n => $"`{n}`")));
        if (resource.Categories.Length > 0) text.Append("; categories: ").Append(string.Join(", ", resource.Categories.Select(n => $"`{n}`")));
        text.Append('\n');
        if (version.TryGetValue("subresources", out _)) text.Append("- Subresources: `status`\n");
        if (version.TryGetValue("additionalPrinterColumns", out var columns) && columns is IList<object> columnList)
        {
            text.Append("- `kubectl get` columns: ")
                .Append(string.Join(", ", columnList.Cast<IDictionary<string, object>>().Select(c => $"{c["name"]} (`{c["jsonPath"]}`)")))
                .Append('\n');
        }

        foreach (var section in new[] { "spec", "status" })
        {
            if (!properties.TryGetValue(section, out var schema)) continue;
            text.Append(CultureInfo.InvariantCulture, $"\n### {resource.Kind}.{section}\n\n");
            text.Append("| Field | Type | Default | Validation | Description |\n|---|---|---|---|---|\n");
            WalkFields((IDictionary<string, object>)schema, section, text);
        }
        return text.ToString();
    }

    /// <summary>The whole reference document for several resources, in the given order.</summary>
    public static string ToMarkdown(IEnumerable<Type> resourceTypes)
    {
        var text = new StringBuilder();
        text.Append("# CRD reference\n\n");
        text.Append("Generated from the C# API types (`src/AnalysisFacility.Operator.Api/V1Alpha1`) by `CrdReference`, from the same schema as `crds/`. Do not edit: run `AnalysisFacility.Operator crds --docs docs/reference/crds.md`.\n\n");
        text.Append("Required fields are marked **required**. Paths use `[]` for list items and `{}` for map values.\n\n");
        foreach (var type in resourceTypes) text.Append(ToMarkdown(type)).Append('\n');
        return text.ToString().TrimEnd('\n') + "\n";
    }

    private static void WalkFields(IDictionary<string, object> schema, string path, StringBuilder text)
    {
        if (schema.TryGetValue("items", out var items) && items is IDictionary<string, object> itemSchema)
        {
            WalkFields(itemSchema, path + "[]", text);
            return;
        }
        if (schema.TryGetValue("additionalProperties", out var values) && values is IDictionary<string, object> valueSchema)
        {
            WalkFields(valueSchema, path + "{}", text);
        }
        if (!schema.TryGetValue("properties", out var props) || props is not IDictionary<string, object> properties) return;
        var required = schema.TryGetValue("required", out var r) && r is IEnumerable<object> list
            ? list.Select(x => x.ToString()).ToHashSet() : [];
        foreach (var (name, child) in properties)
        {
            if (child is not IDictionary<string, object> field) continue;
            var fieldPath = $"{path}.{name}";
            var description = field.TryGetValue("description", out var d) ? d.ToString() ?? "" : "";
            if (required.Contains(name)) description = "**required** " + description;
            text.Append(CultureInfo.InvariantCulture,
                $"| `{fieldPath}` | {TypeOf(field)} | {DefaultOf(field)} | {Escape(Validation(field))} | {Escape(description)} |\n");
            WalkFields(field, fieldPath, text);
        }
    }

    private static string TypeOf(IDictionary<string, object> field)
    {
        if (field.ContainsKey("x-kubernetes-int-or-string")) return "int or string";
        var type = field.TryGetValue("type", out var t) ? t.ToString() ?? "" : "any";
        if (type == "array" && field.TryGetValue("items", out var items) && items is IDictionary<string, object> itemSchema)
        {
            return $"[]{TypeOf(itemSchema)}";
        }
        if (type == "object" && field.TryGetValue("additionalProperties", out var values) && values is IDictionary<string, object> valueSchema)
        {
            return $"map[string]{TypeOf(valueSchema)}";
        }
        if (field.TryGetValue("format", out var format)) type += $" ({format})";
        return type;
    }

    private static string DefaultOf(IDictionary<string, object> field)
    {
        if (!field.TryGetValue("default", out var value)) return "";
        return value switch
        {
            IDictionary<string, object> map when map.Count == 0 => "",
            IEnumerable<object> list => "`[" + string.Join(", ", list) + "]`",
            bool b => b ? "`true`" : "`false`",
            _ => $"`{Escape(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "")}`",
        };
    }

    private static string Validation(IDictionary<string, object> field)
    {
        var parts = new List<string>();
        if (field.TryGetValue("enum", out var values) && values is IEnumerable<object> list) parts.Add("one of " + string.Join(", ", list));
        if (field.TryGetValue("pattern", out var pattern)) parts.Add($"pattern `{pattern}`");
        foreach (var (key, label) in new[] { ("minimum", "min"), ("maximum", "max"), ("minLength", "min length"), ("maxLength", "max length"),
                     ("minItems", "min items"), ("maxItems", "max items") })
        {
            if (field.TryGetValue(key, out var bound)) parts.Add($"{label} {Convert.ToString(bound, CultureInfo.InvariantCulture)}");
        }
        if (field.TryGetValue("x-kubernetes-list-type", out var listType))
        {
            parts.Add(listType.ToString() == "map" && field.TryGetValue("x-kubernetes-list-map-keys", out var keys) && keys is IEnumerable<object> k
                ? $"list keyed by {string.Join(", ", k)}" : $"{listType} list");
        }
        return string.Join("; ", parts);
    }

    private static IDictionary<string, object> Child(IDictionary<string, object> map, string key) => (IDictionary<string, object>)map[key];

    // Table cells: a pipe would end the cell, a newline the row.
    private static string Escape(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
}
