using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Tokens.Discovery;
using AnalysisFacility.Operator.Tokens.Keys;

namespace AnalysisFacility.Operator.Tests.Tokens;

public sealed class IssuerRegistryTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static KeyRing Ring() => KeyRing.Empty.Rotate(T0, RotationPolicy.Default, new FixedKeyGenerator()).Ring;

    [Fact]
    public void Discovery_names_the_issuer_exactly_and_points_at_the_jwks()
    {
        var ring = Ring();
        var document = JsonNode.Parse(IssuerDocuments.Discovery("https://af.example.org/issuer/cms", ring))!;
        document["issuer"]!.GetValue<string>().Should().Be("https://af.example.org/issuer/cms");
        document["jwks_uri"]!.GetValue<string>().Should().Be("https://af.example.org/issuer/cms/jwks");
        document["id_token_signing_alg_values_supported"]!.AsArray().Select(a => a!.GetValue<string>()).Should().Equal("ES256");
    }

    [Fact]
    public void Many_facilities_are_served_by_issuer_path_and_paths_cannot_be_taken_twice()
    {
        var registry = new IssuerRegistry();
        registry.Publish("ns/cms", "https://af.example.org/issuer/cms", Ring()).Should().BeNull();
        registry.Publish("ns/atlas", "https://af.example.org/issuer/atlas", Ring()).Should().BeNull();
        registry.Publish("other/root", "https://root.example.org", Ring()).Should().BeNull();

        registry.FindByPath("/issuer/cms")!.Owner.Should().Be("ns/cms");
        registry.FindByPath("/issuer/atlas")!.Owner.Should().Be("ns/atlas");
        registry.FindByPath("")!.Owner.Should().Be("other/root");
        registry.Publish("ns/copycat", "https://elsewhere.example.org/issuer/cms", Ring()).Should().Contain("already served for ns/cms");

        // An issuer moving to a new path stops being served at the old one.
        registry.Publish("ns/cms", "https://af.example.org/issuer/cms2", Ring()).Should().BeNull();
        registry.FindByPath("/issuer/cms").Should().BeNull();
        registry.Remove("ns/atlas");
        registry.FindByPath("/issuer/atlas").Should().BeNull();
    }

    [Fact]
    public void Snapshots_taken_by_readers_do_not_change_under_them()
    {
        var registry = new IssuerRegistry();
        registry.Publish("ns/cms", "https://af.example.org/issuer/cms", Ring());
        var snapshot = registry.Snapshot;
        registry.Remove("ns/cms");
        snapshot.Should().ContainKey("/issuer/cms");
        registry.Snapshot.Should().BeEmpty();
    }

    [Fact]
    public void Concurrent_publishing_keeps_every_facility()
    {
        var registry = new IssuerRegistry();
        var ring = Ring();
        Parallel.For(0, 200, i => registry.Publish($"ns/f{i}", $"https://af.example.org/issuer/f{i}", ring).Should().BeNull());
        registry.Snapshot.Should().HaveCount(200);
    }
}
