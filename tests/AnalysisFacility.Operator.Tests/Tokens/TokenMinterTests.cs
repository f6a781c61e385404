using System.Text;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Tokens.Issuance;
using AnalysisFacility.Operator.Tokens.Jose;
using AnalysisFacility.Operator.Tokens.Keys;

namespace AnalysisFacility.Operator.Tests.Tokens;

public sealed class TokenMinterTests
{
    private static readonly DateTimeOffset Now = new(2025, 3, 1, 12, 0, 0, 400, TimeSpan.Zero);
    private const string Uid = "0b6c2f9e-1d4a-4c8b-9e3f-7a5d2c1b0e98";

    internal static TokenIssuerSpec Spec() => new()
    {
        Issuer = "https://af.example.org/issuer/cms",
        Audiences = ["https://xcache.af.example.org", "schedd.af.svc:9618"],
        ScopePolicy = new ScopePolicySpec
        {
            Groups = [new GroupScopes { Group = "/cms/higgs", Scopes = ["storage.modify:/store/group/higgs", "storage.read:/store/user/{user}"] }],
        },
    };

    private static (IssuerSettings, KeyRing) Setup(TokenIssuerSpec? spec = null)
    {
        var settings = IssuerSettings.FromSpec(spec ?? Spec(), Uid).ValueOrThrow();
        return (settings, KeyRing.Empty.Rotate(Now.AddDays(-1), settings.Rotation).Ring);
    }

    private static (JsonObject Header, JsonObject Claims, string[] Parts) Decode(string token)
    {
        var parts = token.Split('.');
        return (JsonNode.Parse(Base64Url.Decode(parts[0]))!.AsObject(), JsonNode.Parse(Base64Url.Decode(parts[1]))!.AsObject(), parts);
    }

    [Fact]
    public void Token_carries_the_wlcg_profile_claims()
    {
        var (settings, ring) = Setup();
        var token = TokenMinter.Mint(settings, ring, new TokenRequest("alice@example.org", "alice", ["/cms", "/cms/higgs"]), Now).ValueOrThrow();
        var (header, claims, _) = Decode(token.Value);

        header["alg"]!.GetValue<string>().Should().Be("ES256");
        header["typ"]!.GetValue<string>().Should().Be("JWT");
        header["kid"]!.GetValue<string>().Should().Be(ring.ActiveAt(Now)!.Key.KeyId);
        claims["wlcg.ver"]!.GetValue<string>().Should().Be("1.0");
        claims["iss"]!.GetValue<string>().Should().Be("https://af.example.org/issuer/cms");
        var iat = Now.ToUnixTimeSeconds();
        claims["iat"]!.GetValue<long>().Should().Be(iat, "iat is now, rounded down so it is never in a verifier's future");
        claims["nbf"]!.GetValue<long>().Should().Be(iat - 60);
        claims["exp"]!.GetValue<long>().Should().Be(iat + 3600);
        Guid.Parse(claims["jti"]!.GetValue<string>()).Version.Should().Be(4);
        claims["aud"]!.AsArray().Select(a => a!.GetValue<string>()).Should().Equal("https://xcache.af.example.org", "schedd.af.svc:9618");
        claims["scope"]!.GetValue<string>().Split(' ').Should().Equal(
            "storage.read:/store", "storage.create:/store/user/alice", "storage.modify:/store/user/alice",
            "compute.read", "compute.create", "compute.modify", "compute.cancel",
            "storage.modify:/store/group/higgs", "storage.read:/store/user/alice");
        claims["wlcg.groups"]!.AsArray().Select(g => g!.GetValue<string>()).Should().Equal("/cms", "/cms/higgs");
        token.Value.Length.Should().BeLessThan(2048);
    }

    [Fact]
    public void Encoding_is_compact_unpadded_base64url_and_the_signature_verifies()
    {
        var (settings, ring) = Setup();
        var token = TokenMinter.Mint(settings, ring, new TokenRequest("bob", "bob", []), Now).ValueOrThrow();
        token.Value.Should().MatchRegex("^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$");
        var (_, claims, parts) = Decode(token.Value);
        claims.ContainsKey("wlcg.groups").Should().BeFalse("no groups, no claim");
        var signature = Base64Url.Decode(parts[2]);
        signature.Should().HaveCount(64, "ES256 signatures are r||s, 32 bytes each");
        ring.ActiveAt(Now)!.Key.Verify(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), signature).Should().BeTrue();
    }

    [Fact]
    public void Subject_is_opaque_stable_per_user_and_facility_and_never_the_user_name()
    {
        var (settings, ring) = Setup();
        var first = TokenMinter.Mint(settings, ring, new TokenRequest("alice@example.org", "alice", []), Now).ValueOrThrow();
        var second = TokenMinter.Mint(settings, ring, new TokenRequest("alice@example.org", "alice", []), Now.AddHours(2)).ValueOrThrow();
        var other = TokenMinter.Mint(settings, ring, new TokenRequest("bob@example.org", "bob", []), Now).ValueOrThrow();

        first.Subject.Should().Be(second.Subject);
        first.Subject.Should().NotBe(other.Subject);
        first.Subject.Should().NotContain("alice");
        first.JwtId.Should().NotBe(second.JwtId);
        SubjectIds.For("another-facility-uid", "alice@example.org").Should().NotBe(first.Subject);
    }

    [Fact]
    public void Any_audience_is_used_only_when_allowed()
    {
        var spec = Spec();
        spec.AllowAnyAudience = true;
        var (settings, ring) = Setup(spec);
        var token = TokenMinter.Mint(settings, ring, new TokenRequest("alice", "alice", []), Now).ValueOrThrow();
        Decode(token.Value).Claims["aud"]!.GetValue<string>().Should().Be("https://wlcg.cern.ch/jwt/v1/any");

        var (strict, strictRing) = Setup();
        var single = TokenMinter.Mint(strict, strictRing, new TokenRequest("alice", "alice", [], ["schedd.af.svc:9618"]), Now).ValueOrThrow();
        Decode(single.Value).Claims["aud"]!.GetValue<string>().Should().Be("schedd.af.svc:9618");
    }

    [Fact]
    public void Rs256_tokens_are_signed_with_pkcs1_and_name_the_rsa_key()
    {
        var spec = Spec();
        spec.Algorithm = "RS256";
        spec.RsaKeySize = 2048;
        var (settings, ring) = Setup(spec);
        var token = TokenMinter.Mint(settings, ring, new TokenRequest("alice", "alice", []), Now).ValueOrThrow();
        var (header, _, parts) = Decode(token.Value);
        header["alg"]!.GetValue<string>().Should().Be("RS256");
        Base64Url.Decode(parts[2]).Should().HaveCount(256);
    }

    [Theory]
    [InlineData("alice/../bob", "alice", "user name")]
    [InlineData("alice smith", "alice", "user name")]
    [InlineData("", "alice", "user name")]
    [InlineData("alice", "..", "store name")]
    [InlineData("alice", "a/b", "store name")]
    [InlineData("alice", "alice\0", "store name")]
    public void Names_outside_the_grammar_are_refused(string user, string store, string expected)
    {
        var (settings, ring) = Setup();
        var result = TokenMinter.Mint(settings, ring, new TokenRequest(user, store, []), Now);
        result.Succeeded.Should().BeFalse();
        result.Errors.Should().Contain(e => e.Contains(expected));
    }

    [Theory]
    [InlineData("cms")]
    [InlineData("/cms/../atlas")]
    [InlineData("/cms//higgs")]
    [InlineData("/cms/higgs/")]
    public void Groups_outside_the_grammar_are_refused(string group)
    {
        var (settings, ring) = Setup();
        var result = TokenMinter.Mint(settings, ring, new TokenRequest("alice", "alice", [group]), Now);
        result.Errors.Should().ContainSingle(e => e.Contains("is not a WLCG group"));
    }

    [Fact]
    public void Audiences_not_on_the_facility_list_are_refused()
    {
        var (settings, ring) = Setup();
        var result = TokenMinter.Mint(settings, ring, new TokenRequest("alice", "alice", [], ["https://evil.example.org"]), Now);
        result.Errors.Should().ContainSingle(e => e.Contains("'https://evil.example.org' is not one of the facility's audiences"));
    }

    [Fact]
    public void Oversized_tokens_are_refused()
    {
        var (settings, ring) = Setup();
        var groups = Enumerable.Range(0, 64).Select(i => $"/cms/a-rather-long-group-name-number-{i}").ToList();
        var result = TokenMinter.Mint(settings, ring, new TokenRequest("alice", "alice", groups), Now);
        result.Errors.Should().ContainSingle(e => e.Contains("2048-byte limit"));
    }

    [Fact]
    public void Minting_without_an_active_key_is_refused()
    {
        var (settings, _) = Setup();
        var result = TokenMinter.Mint(settings, KeyRing.Empty, new TokenRequest("alice", "alice", []), Now);
        result.Errors.Should().ContainSingle(e => e.Contains("no signing key is active"));
    }

    [Fact]
    public void Minted_token_description_never_contains_the_token()
    {
        var (settings, ring) = Setup();
        var token = TokenMinter.Mint(settings, ring, new TokenRequest("alice", "alice", []), Now).ValueOrThrow();
        token.ToString().Should().NotContain(token.Value.Split('.')[2]);
        token.ToString().Should().NotContain(token.Value.Split('.')[1]);
    }
}
