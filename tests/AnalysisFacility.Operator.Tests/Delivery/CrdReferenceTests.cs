using AnalysisFacility.Operator.Api;
using AnalysisFacility.Operator.Runtime.Schema;

namespace AnalysisFacility.Operator.Tests.Delivery;

public sealed class CrdReferenceTests
{
    private static readonly string DocPath = DeliveryFiles.PathOf("docs", "reference", "crds.md");

    [Fact]
    public void Checked_in_CRD_reference_matches_the_CSharp_types()
    {
        File.Exists(DocPath).Should().BeTrue();
        File.ReadAllText(DocPath).Should().Be(CrdReference.ToMarkdown(ApiTypes.All),
            "docs/reference/crds.md must be regenerated with `AnalysisFacility.Operator crds --docs docs/reference/crds.md`");
    }

    [Fact]
    public void Reference_shows_each_kind_with_documented_fields_defaults_and_validation()
    {
        var text = CrdReference.ToMarkdown(ApiTypes.All);
        foreach (var kind in new[] { "AnalysisFacility", "UserSession", "DaskCluster", "XCacheInstance" })
        {
            text.Should().Contain($"## {kind}\n").And.Contain($"### {kind}.spec").And.Contain($"### {kind}.status");
        }
        // Required marker, defaults, enums and patterns come from the same schema as the CRDs.
        text.Should().Contain("| `spec.facilityRef` | string |  | pattern `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$` | **required** ");
        text.Should().Contain("| `spec.cacheSize` | string | `100Gi` |");
        text.Should().Contain("one of ClusterIP, NodePort, LoadBalancer");
        text.Should().Contain("`spec.exportedPaths` | []string | `[/store]`");
        // Every field row has a description.
        text.Split('\n').Where(l => l.StartsWith("| `", StringComparison.Ordinal))
            .Should().OnlyContain(l => !l.TrimEnd().EndsWith("|  |", StringComparison.Ordinal), "every field is documented");
    }
}
