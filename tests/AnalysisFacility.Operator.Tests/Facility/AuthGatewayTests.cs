using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Facility;

namespace AnalysisFacility.Operator.Tests.Facility;

/// <summary>The generated httpd.conf (mod_auth_openidc as an OAuth 2.0 resource server); the integration tests run it in Apache.</summary>
public sealed class AuthGatewayTests
{
    private static AuthGatewaySettings Settings(IReadOnlyList<string>? audiences = null, string? ca = null) =>
        new("https://cmsaf-jh.unl.edu/issuer", audiences ?? ["https://xcache.cmsaf-jh.unl.edu", "cms-af-condor-schedd.cmsaf.svc:9618"], 8080, 5000, ["/health"], ca);

    [Fact]
    public void Tokens_are_checked_against_the_issuers_jwks_its_name_and_any_facility_audience()
    {
        var config = AuthGateway.HttpdConfig(Settings());
        config.Should().Contain("OIDCOAuthVerifyJwksUri https://cmsaf-jh.unl.edu/issuer/jwks\n")
            .And.Contain("AuthType oauth20")
            .And.Contain("Require claim iss:https://cmsaf-jh.unl.edu/issuer\n")
            .And.Contain("Require claim aud:https://xcache.cmsaf-jh.unl.edu\n")
            .And.Contain("Require claim aud:cms-af-condor-schedd.cmsaf.svc:9618\n")
            .And.Contain("OIDCOAuthAcceptTokenAs header");
        // The issuer and audience checks must both hold; the audiences are alternatives.
        var all = config.IndexOf("<RequireAll>", StringComparison.Ordinal);
        var any = config.IndexOf("<RequireAny>", StringComparison.Ordinal);
        all.Should().BePositive().And.BeLessThan(any);
        config.IndexOf("Require claim iss:", StringComparison.Ordinal).Should().BeInRange(all, any);
    }

    [Fact]
    public void The_guarded_server_is_reached_on_loopback_and_only_the_health_path_is_open_exactly()
    {
        var config = AuthGateway.HttpdConfig(Settings());
        config.Should().Contain("Listen 8080\n").And.Contain("ProxyPass / http://127.0.0.1:5000/\n");
        // Anchored: <Location /servicex> would also open /servicex/transformation.
        config.Should().Contain("<LocationMatch \"^/health$\">\n  AuthType None\n  Require all granted\n</LocationMatch>");
        config.Should().NotContain("<Location /health>");
        config.Should().NotContain("ProxyPreserveHost On", "MLflow 3.5+ accepts only localhost and private Host headers by default");
    }

    [Fact]
    public void Issuer_ca_is_used_only_when_configured()
    {
        AuthGateway.HttpdConfig(Settings()).Should().NotContain("OIDCCABundlePath");
        AuthGateway.HttpdConfig(Settings(ca: "/etc/analysisfacility/issuer-ca/ca.crt")).Should().Contain("OIDCCABundlePath /etc/analysisfacility/issuer-ca/ca.crt\n");
    }

    [Fact]
    public void Facility_audiences_are_accepted_or_the_wlcg_any_audience_when_the_facility_mints_that()
    {
        AuthGateway.Audiences(new TokenIssuerSpec { Audiences = ["a", "b"] }).Should().Equal("a", "b");
        AuthGateway.Audiences(new TokenIssuerSpec { Audiences = ["a"], AllowAnyAudience = true }).Should().Equal("https://wlcg.cern.ch/jwt/v1/any");
        var spec = new AnalysisFacilitySpec { Tokens = new TokenIssuerSpec { Issuer = "https://x.example/issuer" } };
        AuthGateway.Problem(spec, "MLflow").Should().Contain("spec.tokens.audiences");
        spec.Tokens.AllowAnyAudience = true;
        AuthGateway.Problem(spec, "MLflow").Should().BeNull();
    }

    [Fact]
    public void Access_log_format_has_no_request_headers_so_tokens_are_never_logged()
    {
        var config = AuthGateway.HttpdConfig(Settings());
        var format = config.Split('\n').Single(l => l.StartsWith("LogFormat", StringComparison.Ordinal));
        format.Should().NotContain("%{Authorization}i").And.NotContain("%{").And.Contain("%u");
    }
}
