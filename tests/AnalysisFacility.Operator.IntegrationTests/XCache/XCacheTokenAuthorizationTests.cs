using System.Runtime.Versioning;
using System.Security.Cryptography;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Tokens;
using AnalysisFacility.Operator.Builders.XCache;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.IntegrationTests.Tokens;
using AnalysisFacility.Operator.Tokens.Issuance;
using AnalysisFacility.Operator.Tokens.Keys;

namespace AnalysisFacility.Operator.IntegrationTests.XCache;

/// <summary>
/// A real xrootd cache (xrootd-scitokens plug-in) configured by our builder to trust the operator's issuer,
/// served over HTTPS on loopback by <see cref="LoopbackIssuer"/>; the client is the real xrdcp reading the token
/// file the way the pod delivery writes it.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class XCacheTokenAuthorizationTests : IAsyncLifetime
{
    private const string Audience = "https://xcache.cms-af.example.org";
    private const string ClientUser = "nobody";
    private const int ClientUid = 65534;
    private static readonly TimeSpan CopyTimeout = TimeSpan.FromSeconds(60);
    private LoopbackIssuer _issuer = null!;

    public async Task InitializeAsync() => _issuer = await LoopbackIssuer.StartAsync("/issuer/cms-af");
    public async Task DisposeAsync() => await _issuer.DisposeAsync();

    [Fact]
    public async Task Token_reads_under_its_storage_scope_and_is_refused_outside_it_or_when_missing()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var ct = cts.Token;
        await using var tree = XrootdTree.Create();
        var inScope = RandomNumberGenerator.GetBytes(2 * 1024 * 1024 + 17);
        tree.WriteOriginFile("/store/data/run1/events.root", inScope);
        tree.WriteOriginFile("/store/mc/private/sim.root", RandomNumberGenerator.GetBytes(4096));

        // The facility's issuer: its policy grants reading /store/data only, so /store/mc is outside every token.
        var now = DateTimeOffset.UtcNow;
        var issuerSpec = new TokenIssuerSpec
        {
            Issuer = _issuer.IssuerUrl,
            Audiences = [Audience],
            Lifetime = "1h",
            ScopePolicy = new ScopePolicySpec { Default = ["storage.read:/store/data", "storage.modify:/store/user/{user}"] },
        };
        var issuerSettings = IssuerSettings.FromSpec(issuerSpec, "0b6f3c8e-2f7d-4c55-9a0e-3c1d2e4f5a60").ValueOrThrow();
        var ring = KeyRing.Empty.Rotate(now, issuerSettings.Rotation).Ring;
        _issuer.Publish(ring);
        var token = TokenMinter.Mint(issuerSettings, ring, new TokenRequest("alice", "alice", []), now).ValueOrThrow();

        var originPort = Ports.GetFree();
        await using var origin = await tree.StartOriginAsync(originPort, ct);

        // What the controller does for authorization.facilityRef: pass the facility's issuer URL and audiences.
        var instance = XrootdTree.FacilityCache(originPort);
        var facilityIssuer = new XCacheIssuerSettings(issuerSettings.Issuer, issuerSettings.Audiences);
        XCacheValidator.Validate(instance, facilityIssuer).Should().BeEmpty();

        var tls = await LoopbackTls.CreateAsync(Path.Combine(tree.Root, "tls"), ct);
        var keyCache = Path.Combine(tree.Root, "scitokens-key-cache");
        Directory.CreateDirectory(keyCache);
        var cachePort = Ports.GetFree();
        var layout = tree.CacheLayout(cachePort, tls.Directory);
        await using var cache = await XCacheRealXrootdTests.StartCacheAsync(tree, XCacheSettings.FromSpec(instance.Spec, facilityIssuer), layout, ct,
            // xrootd runs as nobody in a private mount namespace where the issuer's test CA is the trusted bundle.
            configPath => tree.StartTrustingXrootd(_issuer.CaBundlePath, configPath,
                new Dictionary<string, string> { ["XDG_CACHE_HOME"] = keyCache }, "xrootd-cache-tokens"));

        var tokenFile = await DeliverTokenAsync(tree, token.Value, ct);

        // In scope: read through the cache, and the file is now in the cache.
        var copy = Path.Combine(tree.Client, "events.root");
        var read = await CopyAsync(cachePort, "/store/data/run1/events.root", copy, tls.CaDirectory, tokenFile, ct);
        read.ExitCode.Should().Be(0, $"xrdcp:\n{read.Output}\ncache:\n{cache.Output}");
        (await File.ReadAllBytesAsync(copy, ct)).Should().Equal(inScope);
        File.Exists(Path.Combine(layout.NamespaceDirectory, "store/data/run1/events.root.cinfo")).Should().BeTrue(cache.Output);

        // Outside the token's storage.read path: refused by the scitokens plug-in, nothing fetched or cached.
        var outside = await CopyAsync(cachePort, "/store/mc/private/sim.root", Path.Combine(tree.Client, "sim.root"), tls.CaDirectory, tokenFile, ct);
        outside.ExitCode.Should().NotBe(0, outside.Output);
        outside.Output.Should().ContainEquivalentOf("permission denied");
        File.Exists(Path.Combine(tree.Client, "sim.root")).Should().BeFalse();
        File.Exists(Path.Combine(layout.NamespaceDirectory, "store/mc/private/sim.root.cinfo")).Should().BeFalse();

        // No token anywhere the WLCG discovery looks: authentication fails before any file is opened.
        File.Exists($"/tmp/bt_u{ClientUid}").Should().BeFalse("a stray token in /tmp would be found by discovery");
        var anonymous = await CopyAsync(cachePort, "/store/data/run1/events.root", Path.Combine(tree.Client, "anonymous.root"), tls.CaDirectory, null, ct);
        anonymous.ExitCode.Should().NotBe(0, anonymous.Output);
        File.Exists(Path.Combine(tree.Client, "anonymous.root")).Should().BeFalse();
    }

    /// <summary>Writes the token with the pod's own init script, as the pod user, into an in-memory-volume stand-in.</summary>
    private static async Task<string> DeliverTokenAsync(XrootdTree tree, string token, CancellationToken ct)
    {
        var secretDirectory = Path.Combine(tree.Root, "secret");
        var runtimeDirectory = Path.Combine(tree.Root, "run-user");
        Directory.CreateDirectory(secretDirectory);
        Directory.CreateDirectory(runtimeDirectory);
        var source = Path.Combine(secretDirectory, TokenDelivery.TokenKey);
        await File.WriteAllTextAsync(source, token, ct);
        File.SetUnixFileMode(source, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        await tree.GiveToServerUserAsync(ct);

        var destination = Path.Combine(runtimeDirectory, $"bt_u{ClientUid}");
        var (exitCode, output) = await TestProcess.RunAsync("/bin/sh", ["-c", TokenDelivery.InitScript],
            new Dictionary<string, string> { ["SRC"] = source, ["DEST"] = destination, ["PATH"] = "/usr/bin:/bin" },
            runAsUser: ClientUser, timeout: TimeSpan.FromSeconds(30), cancellationToken: ct);
        exitCode.Should().Be(0, output);
        var (statExit, ownerAndMode) = await TestProcess.RunAsync("stat", ["-c", "%u %a", destination], cancellationToken: ct);
        statExit.Should().Be(0, ownerAndMode);
        ownerAndMode.Trim().Should().Be($"{ClientUid} 600", "the delivery writes the token owned by the reader, mode 0600");
        return destination;
    }

    /// <summary>xrdcp as the client user, trusting the CA directory, with the token file (or none) for discovery.</summary>
    internal static Task<ProcessResult> CopyAsync(int port, string path, string destination, string caDirectory,
        string? tokenFile, CancellationToken ct)
    {
        var environment = new Dictionary<string, string>
        {
            // The cache's TLS certificate is signed by the test CA; xrootd clients read CAs from X509_CERT_DIR.
            ["X509_CERT_DIR"] = caDirectory,
            // An empty runtime directory, so discovery finds nothing there.
            ["XDG_RUNTIME_DIR"] = Path.Combine(Path.GetDirectoryName(destination)!),
        };
        if (tokenFile is not null) environment["BEARER_TOKEN_FILE"] = tokenFile;
        return TestProcess.RunAsync(Programs.Require("xrdcp"), ["--nopbar", "-f", $"root://127.0.0.1:{port}/{path}", destination],
            environment, runAsUser: ClientUser, timeout: CopyTimeout, cancellationToken: ct);
    }
}
