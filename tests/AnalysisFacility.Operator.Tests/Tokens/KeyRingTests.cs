using System.Text;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Tokens.Discovery;
using AnalysisFacility.Operator.Tokens.Issuance;
using AnalysisFacility.Operator.Tokens.Jose;
using AnalysisFacility.Operator.Tokens.Keys;

namespace AnalysisFacility.Operator.Tests.Tokens;

/// <summary>Hands out pre-made keys so rotation tests are deterministic and fast.</summary>
internal sealed class FixedKeyGenerator : ISigningKeyGenerator
{
    private static readonly SigningKey[] Pool = [.. Enumerable.Range(0, 6).Select(_ => SigningKey.GenerateEs256())];
    private int _next;
    public List<string> Generated { get; } = [];

    public SigningKey Generate(string algorithm, int rsaKeySize)
    {
        var key = algorithm == JwsAlgorithms.RS256 ? SigningKey.GenerateRs256(rsaKeySize) : Pool[_next++ % Pool.Length];
        Generated.Add(key.KeyId);
        return key;
    }
}

public sealed class KeyRingTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly RotationPolicy Policy = RotationPolicy.Default with
    {
        Period = TimeSpan.FromDays(30), PublishLeadTime = TimeSpan.FromDays(4), KeyCacheTime = TimeSpan.FromDays(4), MaxTokenLifetime = TimeSpan.FromHours(6),
    };

    [Fact]
    public void Thumbprint_matches_the_rfc_7638_example()
    {
        const string n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        SigningKey.Thumbprint([("e", "AQAB"), ("kty", "RSA"), ("n", n)]).Should().Be("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    [Fact]
    public void Key_id_is_the_thumbprint_of_the_published_jwk()
    {
        foreach (var key in new[] { SigningKey.GenerateEs256(), SigningKey.GenerateRs256(2048) })
        {
            var jwks = JsonNode.Parse(IssuerDocuments.Jwks(new KeyRing([new KeyRingEntry(key, T0, T0, null)])))!;
            var jwk = jwks["keys"]![0]!.AsObject();
            jwk["kid"]!.GetValue<string>().Should().Be(key.KeyId);
            jwk["alg"]!.GetValue<string>().Should().Be(key.Algorithm);
            jwk.ContainsKey("d").Should().BeFalse("the private key is never published");
            var members = jwk["kty"]!.GetValue<string>() == "EC"
                ? new[] { "crv", "kty", "x", "y" }
                : new[] { "e", "kty", "n" };
            SigningKey.Thumbprint(members.Select(m => (m, jwk[m]!.GetValue<string>()))).Should().Be(key.KeyId);
        }
    }

    [Fact]
    public void Base64url_is_unpadded_and_refuses_padding()
    {
        Base64Url.Encode([0xfb, 0xff]).Should().Be("-_8");
        Base64Url.Decode("-_8").Should().Equal(0xfb, 0xff);
        FluentActions.Invoking(() => Base64Url.Decode("-_8=")).Should().Throw<FormatException>();
        FluentActions.Invoking(() => Base64Url.Decode("+/8")).Should().Throw<FormatException>();
    }

    [Fact]
    public void First_rotation_creates_a_key_that_signs_at_once()
    {
        var generator = new FixedKeyGenerator();
        var (ring, changed) = KeyRing.Empty.Rotate(T0, Policy, generator);
        changed.Should().BeTrue();
        ring.ActiveAt(T0)!.Key.KeyId.Should().Be(generator.Generated.Single());
        ring.Rotate(T0.AddDays(1), Policy, generator).Changed.Should().BeFalse();
    }

    [Fact]
    public void Successor_is_published_the_lead_time_before_it_signs_and_the_retired_key_stays_until_tokens_and_caches_expire()
    {
        var generator = new FixedKeyGenerator();
        var ring = KeyRing.Empty.Rotate(T0, Policy, generator).Ring;
        var first = ring.ActiveAt(T0)!.Key.KeyId;

        ring.Rotate(T0.AddDays(25.9), Policy, generator).Changed.Should().BeFalse("not yet within the lead time");
        ring.NextChangeAt(T0.AddDays(1), Policy).Should().Be(T0.AddDays(26));

        ring = ring.Rotate(T0.AddDays(26), Policy, generator).Ring;
        var second = generator.Generated[1];
        ring.PublishedKeys.Select(k => k.KeyId).Should().Equal(second, first);
        ring.ActiveAt(T0.AddDays(29.99))!.Key.KeyId.Should().Be(first, "the successor does not sign during its lead time");
        ring.ActiveAt(T0.AddDays(30))!.Key.KeyId.Should().Be(second);
        ring.NextChangeAt(T0.AddDays(26), Policy).Should().Be(T0.AddDays(30));

        // The first key signed until day 30: its tokens live 6 h more, caches 4 days more.
        var gone = T0.AddDays(34).AddHours(6);
        ring.Rotate(gone.AddSeconds(-1), Policy, generator).Ring.Find(first).Should().NotBeNull();
        var later = ring.Rotate(gone, Policy, generator);
        later.Changed.Should().BeTrue();
        later.Ring.Find(first).Should().BeNull();
        later.Ring.ActiveAt(gone)!.Key.KeyId.Should().Be(second);
    }

    [Fact]
    public void Every_token_stays_verifiable_across_many_rotations()
    {
        // Walk a year in 6-hour steps, minting each step; every token must find its key published until it expires.
        var generator = new FixedKeyGenerator();
        var ring = KeyRing.Empty;
        var live = new List<(string Kid, DateTimeOffset Expires)>();
        for (var now = T0; now < T0.AddDays(365); now = now.AddHours(6))
        {
            ring = ring.Rotate(now, Policy, generator).Ring;
            var active = ring.ActiveAt(now)!;
            (now - active.PublishedAt >= Policy.PublishLeadTime || active.PublishedAt == T0).Should().BeTrue("a key signs only after its lead time");
            live.Add((active.Key.KeyId, now + Policy.MaxTokenLifetime + Policy.KeyCacheTime));
            live.RemoveAll(t => t.Expires <= now);
            live.Should().OnlyContain(t => ring.Find(t.Kid) != null);
        }
        ring.Entries.Length.Should().BeLessThanOrEqualTo(3, "old keys are dropped");
    }

    [Fact]
    public void Algorithm_change_rotates_with_the_lead_time()
    {
        var generator = new FixedKeyGenerator();
        var ring = KeyRing.Empty.Rotate(T0, Policy, generator).Ring;
        var rsaPolicy = Policy with { Algorithm = JwsAlgorithms.RS256, RsaKeySize = 2048 };
        ring = ring.Rotate(T0.AddDays(1), rsaPolicy, generator).Ring;
        ring.ActiveAt(T0.AddDays(1))!.Key.Algorithm.Should().Be("ES256");
        ring.ActiveAt(T0.AddDays(5))!.Key.Algorithm.Should().Be("RS256");
    }

    [Fact]
    public void Ring_round_trips_through_secret_data_without_loss()
    {
        var generator = new FixedKeyGenerator();
        var ring = KeyRing.Empty.Rotate(T0, Policy, generator).Ring.Rotate(T0.AddDays(27), Policy, generator).Ring;
        ring = new KeyRing([.. ring.Entries, new KeyRingEntry(SigningKey.GenerateRs256(2048), T0.AddDays(-40), T0.AddDays(-30), T0)]);

        var data = KeyRingSecret.ToSecretData(ring);
        data.Keys.Should().Contain("keyring.json").And.HaveCount(4);
        Encoding.ASCII.GetString(data[ring.Entries[0].Key.KeyId + ".pem"]).Should().StartWith("-----BEGIN PRIVATE KEY-----");

        var back = KeyRingSecret.FromSecretData(data).ValueOrThrow();
        back.Entries.Select(e => (e.Key.KeyId, e.Key.Algorithm, e.PublishedAt, e.SignsFrom, e.SignsUntil))
            .Should().Equal(ring.Entries.Select(e => (e.Key.KeyId, e.Key.Algorithm, e.PublishedAt, e.SignsFrom, e.SignsUntil)));
        var input = "payload"u8.ToArray();
        foreach (var entry in back.Entries)
        {
            ring.Find(entry.Key.KeyId)!.Key.Verify(input, entry.Key.Sign(input)).Should().BeTrue("the private key survived");
        }
        KeyRingSecret.ToSecretData(back).Keys.Should().BeEquivalentTo(data.Keys);
    }

    [Fact]
    public void Damaged_secret_data_is_reported_without_key_material()
    {
        var ring = KeyRing.Empty.Rotate(T0, Policy, new FixedKeyGenerator()).Ring;
        var data = KeyRingSecret.ToSecretData(ring);
        var kid = ring.Entries[0].Key.KeyId;
        var pemFragment = Encoding.ASCII.GetString(data[kid + ".pem"])[40..80];
        data[kid + ".pem"] = Encoding.ASCII.GetBytes(SigningKey.GenerateEs256().ExportPkcs8Pem());

        var result = KeyRingSecret.FromSecretData(data);
        result.Succeeded.Should().BeFalse();
        result.Errors.Should().ContainSingle(e => e.Contains("thumbprint"));
        result.Errors.Should().NotContain(e => e.Contains("PRIVATE KEY") || e.Contains(pemFragment));

        data.Remove(kid + ".pem");
        KeyRingSecret.FromSecretData(data).Errors.Should().ContainSingle(e => e.Contains("is missing"));
        KeyRingSecret.FromSecretData(new Dictionary<string, byte[]>()).ValueOrThrow().Entries.Should().BeEmpty();
    }

    [Fact]
    public void Keys_that_are_too_weak_or_on_other_curves_are_refused()
    {
        using var weak = System.Security.Cryptography.RSA.Create(1024);
        FluentActions.Invoking(() => SigningKey.FromPkcs8Pem(weak.ExportPkcs8PrivateKeyPem())).Should().Throw<FormatException>().WithMessage("*2048*");
        using var p384 = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP384);
        FluentActions.Invoking(() => SigningKey.FromPkcs8Pem(p384.ExportPkcs8PrivateKeyPem())).Should().Throw<FormatException>().WithMessage("*P-256*");
        SigningKey.GenerateEs256().ToString().Should().NotContain("PRIVATE");
    }
}
