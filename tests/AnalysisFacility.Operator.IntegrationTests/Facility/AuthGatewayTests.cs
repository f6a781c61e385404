using System.Net;
using System.Net.Http.Headers;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Facility;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.IntegrationTests.Tokens;
using AnalysisFacility.Operator.Tokens.Issuance;
using AnalysisFacility.Operator.Tokens.Keys;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AnalysisFacility.Operator.IntegrationTests.Facility;

/// <summary>
/// The gateway that guards MLflow and ServiceX, run for real: Debian's Apache httpd with mod_auth_openidc reads the
/// generated httpd.conf, fetches the JWKS from the operator's issuer endpoints over HTTPS on loopback, and stands in
/// front of a loopback server playing the tracking server. Tokens are minted by the operator's own minter.
/// </summary>
public sealed class AuthGatewayTests : IAsyncLifetime
{
    private const string Audience = "https://xcache.af.example.org";
    private const string OtherAudience = "https://other.af.example.org";
    private LoopbackIssuer _issuer = null!;
    private WebApplication _upstream = null!;
    private TestProcess _httpd = null!;
    private HttpClient _http = null!;
    private IssuerSettings _settings = null!;
    private KeyRing _ring = null!;
    private int _upstreamHits;
    private string? _upstreamHost;

    public async Task InitializeAsync()
    {
        _issuer = await LoopbackIssuer.StartAsync("/issuer/cms-af");
        _settings = Settings(_issuer.IssuerUrl, Audience, OtherAudience);
        // Made three hours ago, so an expired token can be minted with the published key.
        _ring = KeyRing.Empty.Rotate(DateTimeOffset.UtcNow.AddHours(-3), _settings.Rotation).Ring;
        _issuer.Publish(_ring);

        var upstreamPort = Ports.GetFree();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, upstreamPort));
        _upstream = builder.Build();
        _upstream.Run(async context =>
        {
            Interlocked.Increment(ref _upstreamHits);
            _upstreamHost = context.Request.Host.Value;
            await context.Response.WriteAsync(context.Request.Path == "/health" ? "OK" : "tracking server");
        });
        await _upstream.StartAsync();

        var port = Ports.GetFree();
        var runtime = _issuer.NewScratchDirectory();
        // Apache runs as www-data here (uid 33, as the gateway container): it must write its runtime directory.
        (await TestProcess.RunAsync("chmod", ["777", runtime])).ExitCode.Should().Be(0);
        var config = AuthGateway.HttpdConfig(new AuthGatewaySettings(_issuer.IssuerUrl, [Audience, OtherAudience], port, upstreamPort,
            [MlflowBuilder.HealthPath], _issuer.CaBundlePath, ListenAddress: "127.0.0.1", RuntimeDirectory: runtime));
        var configFile = Path.Combine(runtime, "httpd.conf");
        await File.WriteAllTextAsync(configFile, config);
        _httpd = TestProcess.Start(Programs.Require("apache2"), ["-DFOREGROUND", "-f", configFile], runAsUser: "www-data", name: "apache2");
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(20) };
        await _httpd.WaitUntilAsync(async () => (await _http.GetAsync("/health")).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "the gateway's health path");
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _httpd.DisposeAsync();
        await _upstream.StopAsync();
        await _upstream.DisposeAsync();
        await _issuer.DisposeAsync();
    }

    private static IssuerSettings Settings(string issuer, params string[] audiences) => IssuerSettings.FromSpec(
        new TokenIssuerSpec { Issuer = issuer, Audiences = [.. audiences], Lifetime = "1h" }, "6c1f0d3e-5a0b-4a8e-9d52-1f0e4b3c2a10").ValueOrThrow();

    private string Mint(KeyRing? ring = null, IssuerSettings? settings = null, DateTimeOffset? at = null, IReadOnlyList<string>? audiences = null) =>
        TokenMinter.Mint(settings ?? _settings, ring ?? _ring, new TokenRequest("alice@example.org", "alice", ["/cms"], audiences), at ?? DateTimeOffset.UtcNow)
            .ValueOrThrow().Value;

    private async Task<(HttpStatusCode Status, string Body)> Get(string path, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_session_token_of_the_facility_issuer_reaches_the_server()
    {
        var (status, body) = await Get("/api/2.0/mlflow/experiments/search", Mint());
        status.Should().Be(HttpStatusCode.OK, _httpd.Output);
        body.Should().Be("tracking server");
        _upstreamHost.Should().StartWith("127.0.0.1:", "MLflow's default allowed hosts are localhost and private addresses");
    }

    [Fact]
    public async Task Anonymous_requests_are_refused_before_the_server()
    {
        var before = _upstreamHits;
        (await Get("/api/2.0/mlflow/experiments/search", null)).Status.Should().Be(HttpStatusCode.Unauthorized);
        (await Get("/", null)).Status.Should().Be(HttpStatusCode.Unauthorized);
        _upstreamHits.Should().Be(before);
    }

    [Fact]
    public async Task Only_the_exact_health_path_is_open()
    {
        (await Get("/health", null)).Should().Be((HttpStatusCode.OK, "OK"));
        (await Get("/healthz", null)).Status.Should().Be(HttpStatusCode.Unauthorized);
        (await Get("/health/secrets", null)).Status.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_token_for_another_audience_is_refused()
    {
        (await Get("/x", Mint(audiences: [OtherAudience]))).Status.Should().Be(HttpStatusCode.OK, "a second facility audience is the control");
        var elsewhere = Settings(_issuer.IssuerUrl, "https://elsewhere.example.org");
        (await Get("/x", Mint(settings: elsewhere))).Status.Should().Be(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Expired_tampered_and_unknown_key_tokens_are_refused()
    {
        var now = DateTimeOffset.UtcNow;
        (await Get("/x", Mint(at: now.AddHours(-2)))).Status.Should().Be(HttpStatusCode.Unauthorized, "1 h lifetime: expired an hour ago");
        var stranger = KeyRing.Empty.Rotate(now, _settings.Rotation).Ring; // the issuer's name, a key it never published
        (await Get("/x", Mint(ring: stranger))).Status.Should().Be(HttpStatusCode.Unauthorized);
        var parts = Mint().Split('.');
        var otherPayload = Mint(audiences: [OtherAudience]).Split('.')[1];
        (await Get("/x", $"{parts[0]}.{otherPayload}.{parts[2]}")).Status.Should().Be(HttpStatusCode.Unauthorized);
        (await Get("/x", Mint())).Status.Should().Be(HttpStatusCode.OK, "an untouched fresh token is the control");
    }

    [Fact]
    public async Task A_token_of_another_issuer_is_refused_even_when_signed_with_a_published_key()
    {
        var impostor = Settings("https://impostor.example.org/issuer", Audience);
        (await Get("/x", Mint(settings: impostor))).Status.Should().Be(HttpStatusCode.Unauthorized);
    }
}
