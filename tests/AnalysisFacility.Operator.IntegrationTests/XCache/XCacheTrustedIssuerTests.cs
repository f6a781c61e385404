using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.XCache;
using AnalysisFacility.Operator.Controllers.XCache;
using AnalysisFacility.Operator.IntegrationTests.Support;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.IntegrationTests.XCache;

/// <summary>
/// The experiment's IAM is a real OpenID Connect provider (Debian's glewlwyd on loopback, <see cref="Glewlwyd"/>); a CI
/// client gets a token from it with the client-credentials grant. The facility's XCache (real xrootd + xrootd-scitokens,
/// configuration generated from the facility's spec.tokens.trustedIssuers through the controller's planning) reads
/// with that token when the IAM is a trusted issuer, and the same cache configuration without the entry refuses it.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class XCacheTrustedIssuerTests : IAsyncLifetime
{
    private const string Audience = "https://xcache.cms-af.example.org";
    private const string ClientId = "cms-analysis-ci";
    private const string ClientSecret = "c1-8f2e6b1a9d4c7e3f5a0b2c4d6e8f1a3b";
    private const string StoreScope = "storage.read:/store";
    private const int ClientUid = 65534;
    private Glewlwyd _iam = null!;

    public async Task InitializeAsync()
    {
        _iam = await Glewlwyd.StartAsync(new GlewlwydOptions([StoreScope], Audience, TimeSpan.FromMinutes(10)), CancellationToken.None);
        await _iam.AddClientAsync(ClientId, ClientSecret, [StoreScope], ["client_credentials"], CancellationToken.None);
    }

    public async Task DisposeAsync() => await _iam.DisposeAsync();

    [Fact]
    public async Task Token_of_the_experiment_IAM_reads_through_the_cache_when_trusted_and_is_refused_when_not()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var ct = cts.Token;
        var token = await _iam.ClientCredentialsAsync(ClientId, ClientSecret, StoreScope, Audience, ct);

        await using var tree = XrootdTree.Create();
        var content = RandomNumberGenerator.GetBytes(1024 * 1024 + 77);
        tree.WriteOriginFile("/store/data/run7/events.root", content);
        var originPort = Ports.GetFree();
        await using var origin = await tree.StartOriginAsync(originPort, ct);

        // The IAM's issuer is accepted by the CRD's pattern as the admin would write it.
        Regex.IsMatch(_iam.Issuer, Patterns.TrustedIssuerUrl).Should().BeTrue(_iam.Issuer);
        var trusted = Facility(new TrustedIssuerSpec
        {
            Name = "cms-iam",
            Issuer = _iam.Issuer,
            Audiences = [Audience],
            BasePath = "/",
            Mappings = [new SubjectMapping { Subject = ClientId, Identity = "cms-ci" }],
        });
        var untrusted = Facility();
        var instance = XrootdTree.FacilityCache(originPort);

        // The cache's own TLS (ztn needs it); the IAM's test CA is only what the cache trusts when it fetches keys.
        var tls = await LoopbackTls.CreateAsync(Path.Combine(tree.Root, "tls"), ct);
        var tokenFile = Path.Combine(tree.Root, "client-run", $"bt_u{ClientUid}");
        await tree.DeliverTokenAsync("iam", token.AccessToken, tokenFile, ct);

        // Trusted: the cache fetches the IAM's keys over HTTPS, accepts its storage scope and caches the file.
        await using (var cache = await StartCacheAsync(tree, tls, instance, trusted, "trusted", ct))
        {
            var copy = Path.Combine(tree.Client, "trusted.root");
            var read = await XCacheTokenAuthorizationTests.CopyAsync(cache.Port, "/store/data/run7/events.root", copy, tls.CaDirectory, tokenFile, ct);
            read.ExitCode.Should().Be(0, $"xrdcp:\n{read.Output}\ncache:\n{cache.Process.Output}");
            (await File.ReadAllBytesAsync(copy, ct)).Should().Equal(content);
            File.Exists(Path.Combine(cache.Layout.NamespaceDirectory, "store/data/run7/events.root.cinfo")).Should().BeTrue(cache.Process.Output);
        }

        // Not trusted: the same token, audience and cache configuration except the trustedIssuers entry is refused.
        await using (var cache = await StartCacheAsync(tree, tls, instance, untrusted, "untrusted", ct))
        {
            var copy = Path.Combine(tree.Client, "untrusted.root");
            var refused = await XCacheTokenAuthorizationTests.CopyAsync(cache.Port, "/store/data/run7/events.root", copy, tls.CaDirectory, tokenFile, ct);
            refused.ExitCode.Should().NotBe(0, refused.Output);
            File.Exists(copy).Should().BeFalse();
            // Refused for the issuer, not for the audience, scope or TLS (scitokens-cpp's own reason, logged by the plug-in).
            await cache.Process.WaitUntilAsync(() => Task.FromResult(cache.Process.Output.Contains("Token issuer is not in list of allowed issuers", StringComparison.Ordinal)),
                TimeSpan.FromSeconds(10), "the scitokens plug-in logging the refused issuer");
            File.Exists(Path.Combine(cache.Layout.NamespaceDirectory, "store/data/run7/events.root.cinfo")).Should().BeFalse(cache.Process.Output);
        }
    }

    private static FacilityResource Facility(params TrustedIssuerSpec[] trusted) => new()
    {
        Metadata = new() { Name = "cms-af", NamespaceProperty = "af", Uid = "5c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f" },
        Spec = new AnalysisFacilitySpec
        {
            // The facility's own issuer is not running here; only the IAM's tokens are presented.
            Tokens = new TokenIssuerSpec { Issuer = "https://cms-af.example.org/issuer", Audiences = [Audience], TrustedIssuers = [.. trusted] },
        },
    };

    private sealed record RunningCache(TestProcess Process, XCacheLayout Layout) : IAsyncDisposable
    {
        public int Port => Layout.XrootPort;
        public ValueTask DisposeAsync() => Process.DisposeAsync();
    }

    /// <summary>The cache as the controller configures it for <paramref name="facility"/>, trusting the IAM's test CA for key fetches.</summary>
    private async Task<RunningCache> StartCacheAsync(XrootdTree tree, LoopbackTls tls, XCacheInstance instance, FacilityResource facility, string name, CancellationToken ct)
    {
        var (issuer, errors) = XCachePlanning.IssuerOf(facility);
        errors.Should().BeEmpty();
        XCacheValidator.Validate(instance, issuer).Should().BeEmpty();
        var keyCache = Path.Combine(tree.Root, "key-cache-" + name);
        Directory.CreateDirectory(keyCache);
        var root = Path.Combine(tree.Root, name);
        // Each cache keeps its own disk; the generated files go where the harness writes them (under cache/).
        Directory.CreateDirectory(Path.GetDirectoryName(tree.CacheLayout(0).ScitokensConfigPath)!);
        var layout = tree.CacheLayout(Ports.GetFree(), tls.Directory) with
        {
            NamespaceDirectory = Path.Combine(root, "namespace"),
            MetaDirectory = Path.Combine(root, "meta"),
            DataDirectory = Path.Combine(root, "data"),
            AdminDirectory = Path.Combine(root, "run"),
        };
        var process = await XCacheRealXrootdTests.StartCacheAsync(tree, XCacheSettings.FromSpec(instance.Spec, issuer), layout, ct,
            configPath => tree.StartTrustingXrootd(_iam.CaBundlePath, configPath, new Dictionary<string, string> { ["XDG_CACHE_HOME"] = keyCache }, "xrootd-cache-" + name));
        return new RunningCache(process, layout);
    }
}
