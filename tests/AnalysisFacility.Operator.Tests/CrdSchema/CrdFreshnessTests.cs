using AnalysisFacility.Operator.Api;
using AnalysisFacility.Operator.Runtime.Schema;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Tests.CrdSchema;

public sealed class CrdFreshnessTests
{
    [Fact]
    public void Checked_in_CRDs_match_the_CSharp_types()
    {
        var stale = new List<string>();
        foreach (var type in ApiTypes.All)
        {
            var path = Path.Combine(RepositoryRoot.Path, "crds", CrdGenerator.FileName(type));
            var expected = CrdGenerator.ToYaml(type);
            if (!File.Exists(path) || File.ReadAllText(path) != expected) stale.Add(path);
        }
        stale.Should().BeEmpty("crds/ must be regenerated with `dotnet run --project src/AnalysisFacility.Operator -- crds --output crds`");
    }

    [Fact]
    public void Every_field_of_every_kind_is_documented()
    {
        var undocumented = new List<string>();
        foreach (var type in ApiTypes.All)
        {
            var crd = CrdGenerator.Generate(type);
            Walk(crd, type.Name, undocumented);
        }
        undocumented.Should().BeEmpty("kubectl explain shows these descriptions");
    }

    [Fact]
    public void Schema_carries_enums_patterns_and_bounds()
    {
        var yaml = CrdGenerator.ToYaml(typeof(FacilityResource));
        yaml.Should().Contain("- ES256").And.Contain("- RS256");
        yaml.Should().Contain("pattern: ^https://");
        yaml.Should().Contain("minimum: 2048");
        yaml.Should().Contain("x-kubernetes-list-type: map");
    }

    private static void Walk(object node, string path, List<string> undocumented)
    {
        if (node is not IDictionary<string, object> map) return;
        if (map.TryGetValue("properties", out var props) && props is IDictionary<string, object> properties)
        {
            foreach (var (name, child) in properties)
            {
                var childPath = $"{path}.{name}";
                // spec and status too: `kubectl explain usersession.spec` prints their description. metadata may carry
                // none (the API server refuses anything but its type there).
                if (child is IDictionary<string, object> childMap && name != "metadata"
                    && !(childMap.TryGetValue("description", out var text) && text is string { Length: > 0 }))
                {
                    undocumented.Add(childPath);
                }
                Walk(child, childPath, undocumented);
            }
        }
        foreach (var key in new[] { "items", "spec", "versions", "schema", "openAPIV3Schema" })
        {
            if (map.TryGetValue(key, out var child)) Walk(child, path, undocumented);
        }
        if (map.TryGetValue("versions", out var versions) && versions is IEnumerable<object> list)
        {
            foreach (var v in list) Walk(v, path, undocumented);
        }
    }
}
