using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Tokens.Issuance;

namespace AnalysisFacility.Operator.Tests.Tokens;

public sealed class IssuerSettingsTests
{
    private static IReadOnlyList<string> Errors(Action<TokenIssuerSpec> change)
    {
        var spec = TokenMinterTests.Spec();
        change(spec);
        return IssuerSettings.FromSpec(spec, "uid-1").Errors;
    }

    [Fact]
    public void Default_spec_with_audiences_is_valid()
    {
        var settings = IssuerSettings.FromSpec(TokenMinterTests.Spec(), "uid-1", ["schedd.af.svc:9618", "extra-aud"]).ValueOrThrow();
        settings.Lifetime.Should().Be(TimeSpan.FromHours(1));
        settings.Audiences.Should().Equal("https://xcache.af.example.org", "schedd.af.svc:9618", "extra-aud");
        settings.Rotation.Period.Should().Be(TimeSpan.FromHours(720));
        settings.Rotation.PublishLeadTime.Should().Be(TimeSpan.FromHours(96));
    }

    [Theory]
    [InlineData("storage.read", "has no path")]
    [InlineData("storage.read:", "has no path")]
    [InlineData("storage.read:store", "relative path")]
    [InlineData("storage.read:/store/../etc", "'.' or '..' segment")]
    [InlineData("storage.read:/store/./x", "'.' or '..' segment")]
    [InlineData("storage.read:/store/%2e%2e/etc", "percent-encoded")]
    [InlineData("storage.read:/store%2Fetc", "percent-encoded")]
    [InlineData("storage.read:/store/%252e%252e", "percent-encoded")]
    [InlineData("storage.read:/store\\..\\etc", "backslash")]
    [InlineData("storage.read:/store\0", "control character")]
    [InlineData("storage.read:/store\u001b[0m", "control character")]
    [InlineData("storage.read:/store//x", "empty segment")]
    [InlineData("storage.read:/store/", "trailing '/'")]
    [InlineData("storage.read:/store/a b", "whitespace")]
    [InlineData("storage.read:/store/a;b", "character ';'")]
    [InlineData("storage.write:/store", "is unknown")]
    [InlineData("openid", "is unknown")]
    [InlineData("compute.create:/jobs", "compute scopes take none")]
    public void Bad_scopes_are_refused_with_the_field_and_reason(string scope, string reason)
    {
        var errors = Errors(s => s.ScopePolicy.Default = ["storage.read:/store", scope]);
        errors.Should().ContainSingle().Which.Should().StartWith("spec.tokens.scopePolicy.default[1]: scope").And.Contain(reason);
    }

    [Fact]
    public void User_placeholder_must_leave_a_valid_path()
    {
        Errors(s => s.ScopePolicy.Default = ["storage.create:/store/user/{user}"]).Should().BeEmpty();
        Errors(s => s.ScopePolicy.Default = ["storage.create:/store/user/{user}/"]).Should().ContainSingle(e => e.Contains("trailing"));
        Errors(s => s.ScopePolicy.Default = ["storage.create:/store/{group}"]).Should().ContainSingle(e => e.Contains("character '{'"));
    }

    [Fact]
    public void Group_scopes_are_checked_too()
    {
        Errors(s => s.ScopePolicy.Groups = [new GroupScopes { Group = "/cms", Scopes = ["storage.read:../x"] }])
            .Should().ContainSingle(e => e.StartsWith("spec.tokens.scopePolicy.groups[0].scopes[0]") && e.Contains("relative"));
        Errors(s => s.ScopePolicy.Groups = [new GroupScopes { Group = "cms", Scopes = [] }])
            .Should().ContainSingle(e => e.StartsWith("spec.tokens.scopePolicy.groups[0].group"));
    }

    [Theory]
    [InlineData("14m")]
    [InlineData("6h1s")]
    [InlineData("0s")]
    [InlineData("24h")]
    public void Lifetimes_outside_15m_to_6h_are_refused(string lifetime) =>
        Errors(s => s.Lifetime = lifetime).Should().ContainSingle(e => e.StartsWith("spec.tokens.lifetime") && e.Contains("15m to 6h"));

    [Theory]
    [InlineData("15m")]
    [InlineData("6h")]
    [InlineData("1h30m")]
    public void Lifetimes_within_bounds_are_accepted(string lifetime) => Errors(s => s.Lifetime = lifetime).Should().BeEmpty();

    [Fact]
    public void Unparseable_lifetime_is_refused() =>
        Errors(s => s.Lifetime = "1 hour").Should().ContainSingle(e => e.Contains("not a duration"));

    [Theory]
    [InlineData("HS256")]
    [InlineData("none")]
    [InlineData("ES384")]
    public void Unknown_algorithms_are_refused(string algorithm) =>
        Errors(s => s.Algorithm = algorithm).Should().ContainSingle(e => e.StartsWith("spec.tokens.algorithm") && e.Contains("allowed: ES256, RS256"));

    [Fact]
    public void Small_rsa_keys_are_refused() =>
        Errors(s => { s.Algorithm = "RS256"; s.RsaKeySize = 1024; }).Should().ContainSingle(e => e.StartsWith("spec.tokens.rsaKeySize"));

    [Theory]
    [InlineData("http://af.example.org/issuer")]
    [InlineData("https://af.example.org/issuer/")]
    [InlineData("https://af.example.org/iss uer")]
    [InlineData("")]
    public void Bad_issuer_urls_are_refused(string issuer) =>
        Errors(s => s.Issuer = issuer).Should().ContainSingle(e => e.StartsWith("spec.tokens.issuer"));

    [Fact]
    public void Audiences_are_required_unless_any_audience_is_allowed()
    {
        Errors(s => s.Audiences = []).Should().ContainSingle(e => e.Contains("no audience"));
        Errors(s => { s.Audiences = []; s.AllowAnyAudience = true; }).Should().BeEmpty();
        Errors(s => s.Audiences = ["https://wlcg.cern.ch/jwt/v1/any"]).Should().Contain(e => e.Contains("set allowAnyAudience"));
        Errors(s => s.Audiences = ["has space"]).Should().ContainSingle(e => e.Contains("whitespace"));
    }

    [Fact]
    public void Rotation_lead_time_must_be_shorter_than_the_period() =>
        Errors(s => s.Rotation = new KeyRotationSpec { Period = "24h", PublishLeadTime = "24h" })
            .Should().ContainSingle(e => e.StartsWith("spec.tokens.rotation.publishLeadTime"));
}
