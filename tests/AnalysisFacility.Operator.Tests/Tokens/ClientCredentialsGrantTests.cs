using System.Text;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Tokens.Discovery;
using AnalysisFacility.Operator.Tokens.Grants;
using AnalysisFacility.Operator.Tokens.Issuance;
using AnalysisFacility.Operator.Tokens.Keys;

namespace AnalysisFacility.Operator.Tests.Tokens;

public sealed class ClientCredentialsGrantTests
{
    private const string Secret = "6b1f0c2e9d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a";

    private static RobotClient Robot(string id = "analysis-ci", params string[] scopes) =>
        RobotClient.FromSpec(new RobotClientSpec
        {
            ClientId = id, Scopes = scopes.Length > 0 ? [.. scopes] : ["compute.create", "compute.read", "storage.read:/store"], Lifetime = "20m",
            SecretHashRef = new SecretKeyReference { Name = "robots", Key = id },
        }, RobotClient.HashOf(Secret), "spec.tokens.robots[0]").ValueOrThrow();

    private static Dictionary<string, RobotClient> Clients() => new() { ["analysis-ci"] = Robot() };

    private static Dictionary<string, string> Form(params (string Key, string Value)[] fields) => fields.ToDictionary(f => f.Key, f => f.Value);

    private static string Basic(string id, string secret) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{id}:{secret}"));

    [Fact]
    public void A_registered_client_gets_what_it_asks_for_within_its_allowance_by_basic_or_form_authentication()
    {
        var basic = ClientCredentialsGrant.Decide(Form(("grant_type", "client_credentials"), ("scope", "compute.create compute.read")), Basic("analysis-ci", Secret), Clients());
        basic.Error.Should().BeNull();
        basic.Scopes.Should().Equal("compute.create", "compute.read");
        var post = ClientCredentialsGrant.Decide(Form(("grant_type", "client_credentials"), ("client_id", "analysis-ci"), ("client_secret", Secret)), null, Clients());
        post.Error.Should().BeNull();
        post.Scopes.Should().Equal(["compute.create", "compute.read", "storage.read:/store"], "no scope asked: the whole allowance (RFC 6749 3.3)");
    }

    [Theory]
    [InlineData("analysis-ci", "wrong-secret", "invalid_client", 401)]
    [InlineData("unknown-ci", Secret, "invalid_client", 401)]
    public void Wrong_secret_and_unknown_client_answer_alike(string id, string secret, string code, int status)
    {
        var decision = ClientCredentialsGrant.Decide(Form(("grant_type", "client_credentials")), Basic(id, secret), Clients());
        decision.Error.Should().Be(new OAuthError(code, "client authentication failed", status));
        decision.AttemptedClientId.Should().Be(id);
    }

    [Fact]
    public void Bad_scope_grant_type_and_requests_get_their_RFC_6749_codes()
    {
        ClientCredentialsGrant.Decide(Form(("grant_type", "client_credentials"), ("scope", "compute.create storage.modify:/store")), Basic("analysis-ci", Secret), Clients())
            .Error!.Code.Should().Be("invalid_scope");
        ClientCredentialsGrant.Decide(Form(("grant_type", "password")), Basic("analysis-ci", Secret), Clients()).Error!.Code.Should().Be("unsupported_grant_type");
        ClientCredentialsGrant.Decide(Form(), Basic("analysis-ci", Secret), Clients()).Error!.Code.Should().Be("invalid_request");
        ClientCredentialsGrant.Decide(Form(("grant_type", "client_credentials")), null, Clients()).Error!.Code.Should().Be("invalid_client");
        ClientCredentialsGrant.Decide(Form(("grant_type", "client_credentials"), ("client_secret", Secret)), Basic("analysis-ci", Secret), Clients())
            .Error!.Code.Should().Be("invalid_request", "two authentication methods at once");
        ClientCredentialsGrant.Decide(Form(("grant_type", "client_credentials")), "Basic !!!", Clients()).Error!.Code.Should().Be("invalid_client");
    }

    [Fact]
    public void Stored_value_must_be_a_hash_not_the_secret()
    {
        var spec = new RobotClientSpec { ClientId = "ci", Scopes = ["compute.read"], SecretHashRef = new() { Name = "r", Key = "ci" } };
        RobotClient.FromSpec(spec, Secret, "f").Errors.Should().ContainSingle(e => e.Contains("not 'sha256:'"));
        RobotClient.FromSpec(spec, null, "f").Errors.Should().ContainSingle(e => e.Contains("has no key"));
        RobotClient.FromSpec(WithScope("storage.read:relative"), RobotClient.HashOf(Secret), "f").Succeeded.Should().BeFalse();
        RobotClient.HashOf("abc").Should().Be("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "what sha256sum prints");
    }

    private static RobotClientSpec WithScope(string scope) => new() { ClientId = "ci", Scopes = [scope], SecretHashRef = new() { Name = "r", Key = "ci" } };

    [Fact]
    public void Failed_authentications_are_limited_per_key_for_a_window()
    {
        var time = new ManualTime();
        var limiter = new FailedAuthenticationLimiter(3, TimeSpan.FromMinutes(1), time);
        for (var i = 0; i < 3; i++)
        {
            limiter.RetryAfter("client:ci").Should().BeNull();
            limiter.RecordFailure("client:ci");
        }
        limiter.RetryAfter("client:ci").Should().Be(TimeSpan.FromMinutes(1));
        limiter.RetryAfter("client:other").Should().BeNull();
        time.Advance(TimeSpan.FromSeconds(61));
        limiter.RetryAfter("client:ci").Should().BeNull();
    }

    private sealed class ManualTime : TimeProvider
    {
        private DateTimeOffset _now = DateTimeOffset.UnixEpoch;
        public override DateTimeOffset GetUtcNow() => _now;
        public void Advance(TimeSpan by) => _now += by;
    }

    [Fact]
    public void Robot_token_has_the_client_as_subject_its_scopes_lifetime_and_the_facility_audiences_and_discovery_names_the_endpoint()
    {
        var now = DateTimeOffset.UtcNow;
        var settings = IssuerSettings.FromSpec(new TokenIssuerSpec { Issuer = "https://af.example.org/issuer", Audiences = ["https://xcache.example.org"] }, "uid-1").ValueOrThrow();
        var ring = KeyRing.Empty.Rotate(now, settings.Rotation).Ring;
        var token = TokenMinter.MintForClient(settings, ring, "analysis-ci", ["compute.create"], TimeSpan.FromMinutes(20), now).ValueOrThrow();
        token.Subject.Should().Be("analysis-ci");
        token.Scopes.Should().Equal("compute.create");
        (token.ExpiresAt - token.IssuedAt).Should().Be(TimeSpan.FromMinutes(20));
        token.Audiences.Should().Equal("https://xcache.example.org");
        var claims = System.Text.Json.JsonDocument.Parse(AnalysisFacility.Operator.Tokens.Jose.Base64Url.Decode(token.Value.Split('.')[1])).RootElement;
        claims.GetProperty("sub").GetString().Should().Be("analysis-ci");
        claims.GetProperty("iss").GetString().Should().Be("https://af.example.org/issuer");

        var registry = new IssuerRegistry();
        registry.Publish("ns/af", settings.Issuer, ring, new RobotGrants(settings, ring, Clients())).Should().BeNull();
        var discovery = System.Text.Json.JsonDocument.Parse(registry.FindByPath("/issuer")!.Discovery).RootElement;
        discovery.GetProperty("token_endpoint").GetString().Should().Be("https://af.example.org/issuer/token");
        discovery.GetProperty("grant_types_supported")[0].GetString().Should().Be("client_credentials");
        registry.Publish("ns/af", settings.Issuer, ring).Should().BeNull();
        System.Text.Json.JsonDocument.Parse(registry.FindByPath("/issuer")!.Discovery).RootElement.TryGetProperty("token_endpoint", out _).Should().BeFalse();
    }
}
