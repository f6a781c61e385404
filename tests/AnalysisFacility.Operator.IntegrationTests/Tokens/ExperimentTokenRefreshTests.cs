using System.Net.Security;
using System.Runtime.Versioning;
using System.Security.Cryptography.X509Certificates;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.Tokens.Refresh;

namespace AnalysisFacility.Operator.IntegrationTests.Tokens;

/// <summary>
/// The operator's refresh of a login's refresh token (<see cref="OidcRefreshClient"/> deciding with
/// <see cref="ExperimentTokenRefresh"/>) against a real OpenID Connect provider, Debian's glewlwyd on loopback HTTPS,
/// standing in for the experiment's IAM. The login is glewlwyd's password grant (the test's stand-in for the browser's
/// authorization code flow; both return a refresh token to the hub's client).
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class ExperimentTokenRefreshTests : IAsyncLifetime
{
    private const string HubClient = "cms-af-hub";
    private const string HubSecret = "hub-9a8b7c6d5e4f3a2b1c0d";
    private const string StoreScope = "storage.read:/store";
    private Glewlwyd _iam = null!;

    public async Task InitializeAsync()
    {
        _iam = await Glewlwyd.StartAsync(new GlewlwydOptions([StoreScope], "https://xcache.cms-af.example.org", TimeSpan.FromMinutes(20)), CancellationToken.None);
        await _iam.AddClientAsync(HubClient, HubSecret, ["openid", StoreScope], ["code", "password", "refresh_token"], CancellationToken.None,
            redirectUri: "https://cms-af.example.org/hub/oauth_callback");
        await _iam.AddUserAsync("alice", "alice-password", ["openid", StoreScope], CancellationToken.None);
    }

    public async Task DisposeAsync() => await _iam.DisposeAsync();

    [Fact]
    public async Task A_login_refresh_token_gives_fresh_access_tokens_when_due_and_a_revoked_one_is_reported_as_revoked()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var ct = cts.Token;
        var login = await _iam.PasswordAsync(HubClient, HubSecret, "alice", "alice-password", "openid " + StoreScope, ct);
        login.RefreshToken.Should().NotBeNullOrEmpty();
        const string login0 = "alice-hub-login-1a2b3c";
        using var http = TrustingHttpClient(_iam.CaBundlePath);
        var client = new OidcRefreshClient(http, TimeProvider.System);
        var endpoint = new Uri(_iam.TokenEndpoint);

        // No access token yet: refresh at once.
        var now = DateTimeOffset.UtcNow;
        var state = new ExperimentTokenState(login0, null, null, null, null, null);
        ExperimentTokenRefresh.Decide(state, now).Action.Should().Be(RefreshAction.Refresh);
        var first = await client.RefreshAsync(endpoint, HubClient, HubSecret, login.RefreshToken!, ct);
        first.Kind.Should().Be(RefreshOutcomeKind.Refreshed, first.Message + "\n" + _iam.Output);
        first.ExpiresAt.Should().BeCloseTo(now + TimeSpan.FromMinutes(20), TimeSpan.FromSeconds(30));

        // Fresh: a 20-minute token waits for half its life (10 minutes before expiry); then, still before expiry, a new, different access token.
        state = state with { AccessIssuedAt = first.IssuedAt, AccessExpiresAt = first.ExpiresAt, AccessFromLogin = login0 };
        var decision = ExperimentTokenRefresh.Decide(state, now);
        decision.Should().Be(new RefreshDecision(RefreshAction.Wait, first.ExpiresAt!.Value - TimeSpan.FromMinutes(10), ExperimentTokenRefresh.Fresh));
        ExperimentTokenRefresh.Decide(state, decision.At!.Value).Action.Should().Be(RefreshAction.Refresh);
        decision.At.Value.Should().BeBefore(first.ExpiresAt.Value);
        var second = await client.RefreshAsync(endpoint, HubClient, HubSecret, login.RefreshToken!, ct);
        second.Kind.Should().Be(RefreshOutcomeKind.Refreshed, second.Message);
        second.AccessToken.Should().NotBe(first.AccessToken);
        Glewlwyd.Claims(second.AccessToken!)["sub"]!.GetValue<string>().Should().Be(Glewlwyd.Claims(first.AccessToken!)["sub"]!.GetValue<string>());
        Glewlwyd.Claims(second.AccessToken!)["iss"]!.GetValue<string>().Should().Be(_iam.Issuer);

        // A wrong client secret is the admin's problem, not the user's login.
        var wrongClient = await client.RefreshAsync(endpoint, HubClient, "not-the-secret", login.RefreshToken!, ct);
        wrongClient.Kind.Should().NotBe(RefreshOutcomeKind.Refreshed);

        // Revoked at the IAM (the user logged out everywhere, or an admin revoked it): refused for good, never retried.
        await _iam.RevokeAsync(HubClient, HubSecret, login.RefreshToken!, ct);
        var revoked = await client.RefreshAsync(endpoint, HubClient, HubSecret, login.RefreshToken!, ct);
        revoked.Kind.Should().Be(RefreshOutcomeKind.Revoked, revoked.Message);
        revoked.AccessToken.Should().BeNull();
        revoked.Message.Should().NotContain(login.RefreshToken!);
        ExperimentTokenRefresh.Decide(state with { RevokedLogin = login0 }, DateTimeOffset.UtcNow + TimeSpan.FromHours(1)).Reason
            .Should().Be(ExperimentTokenRefresh.Revoked);

        // The IAM unreachable is a passing failure.
        var closed = new Uri($"https://127.0.0.1:{Ports.GetFree()}/api/oidc/token");
        (await client.RefreshAsync(closed, HubClient, HubSecret, login.RefreshToken!, ct)).Kind.Should().Be(RefreshOutcomeKind.Unavailable);
    }

    /// <summary>An HttpClient that trusts the test CA the way the operator trusts a configured identity-provider CA file.</summary>
    internal static HttpClient TrustingHttpClient(string caFile)
    {
        var ca = X509CertificateLoader.LoadCertificateFromFile(caFile);
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                CertificateChainPolicy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, CustomTrustStore = { ca }, RevocationMode = X509RevocationMode.NoCheck },
            },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(20) };
    }
}
