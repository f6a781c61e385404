using System.Runtime.Versioning;
using System.Security.Cryptography;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Tokens;
using AnalysisFacility.Operator.Builders.XCache;
using AnalysisFacility.Operator.Controllers.XCache;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.IntegrationTests.Tokens;
using AnalysisFacility.Operator.Tokens.Issuance;
using AnalysisFacility.Operator.Tokens.Keys;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.IntegrationTests.XCache;

/// <summary>
/// A real xrootd origin that only serves WLCG tokens for its own audience (ztn over TLS + xrootd-scitokens), and a
/// real xrootd cache in front of it running the generated configuration with the origin credential the operator
/// makes: the robot token minted by the facility issuer (<see cref="XCachePlanning.RobotToken"/>), put where the pod's
/// token delivery puts it (a 0600 file owned by the xrootd account, BEARER_TOKEN_FILE) and the environment of
/// <see cref="XCacheOriginClient.Environment"/>. Both servers and the client trust CA directories built from the
/// ConfigMap the operator publishes (<see cref="XCacheTls.BuildCaConfigMap"/>), written out file by file.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class XCacheOriginCredentialTests : IAsyncLifetime
{
    private const string CacheAudience = "https://xcache.cms-af.example.org";
    private const string OriginAudience = "https://origin.cms.example.org";
    private const int ServerUid = 65534;
    private LoopbackIssuer _issuer = null!;

    public async Task InitializeAsync() => _issuer = await LoopbackIssuer.StartAsync("/issuer/cms-af");
    public async Task DisposeAsync() => await _issuer.DisposeAsync();

    [Fact]
    public async Task Cache_fetches_misses_with_its_robot_token_refuses_anonymous_users_and_takes_a_renewed_token_without_restart()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ct = cts.Token;
        await using var tree = XrootdTree.Create();
        var first = RandomNumberGenerator.GetBytes(1024 * 1024 + 5);
        var second = RandomNumberGenerator.GetBytes(64 * 1024 + 9);
        tree.WriteOriginFile("/store/data/run1/first.root", first);
        tree.WriteOriginFile("/store/data/run2/second.root", second);

        // The facility and its cache, as an admin writes them: the cache trusts the facility's tokens for its users and
        // reads the origin with a robot token of the same issuer for the origin's audience.
        var now = DateTimeOffset.UtcNow;
        var facility = new FacilityResource
        {
            Metadata = new() { Name = "cms-af", NamespaceProperty = "af", Uid = "0b6f3c8e-2f7d-4c55-9a0e-3c1d2e4f5a60" },
            Spec = new AnalysisFacilitySpec
            {
                Tokens = new TokenIssuerSpec { Issuer = _issuer.IssuerUrl, Audiences = [CacheAudience], Lifetime = "15m", ScopePolicy = new ScopePolicySpec { Default = ["storage.read:/store"] } },
            },
        };
        var originPort = Ports.GetFree();
        var instance = new XCacheInstance
        {
            Metadata = new() { Name = "cms-cache", NamespaceProperty = "af" },
            Spec = new XCacheInstanceSpec
            {
                Origin = $"root://127.0.0.1:{originPort}",
                ExportedPaths = ["/store"],
                Ram = "1g",
                Authorization = new XCacheAuthorization { FacilityRef = "cms-af" },
                OriginCredentials = new XCacheOriginCredentials { Token = new XCacheOriginToken { FacilityRef = "cms-af", Audience = OriginAudience } },
            },
        };
        var (cacheIssuer, issuerErrors) = XCachePlanning.IssuerOf(facility);
        issuerErrors.Should().BeEmpty();
        XCacheValidator.Validate(instance, cacheIssuer).Should().BeEmpty();

        var userSettings = IssuerSettings.FromSpec(facility.Spec.Tokens, facility.Metadata.Uid).ValueOrThrow();
        var ring = KeyRing.Empty.Rotate(now.AddHours(-1), userSettings.Rotation).Ring;
        _issuer.Publish(ring);
        var userToken = TokenMinter.Mint(userSettings, ring, new TokenRequest("alice", "alice", []), now).ValueOrThrow();
        var (robotSettings, robotRequest, robotErrors) = XCachePlanning.RobotToken(instance, facility);
        robotErrors.Should().BeEmpty();
        // Minted 14m35s ago with the facility's 15 min lifetime: it expires 25 s into the test.
        var expiring = TokenMinter.Mint(robotSettings!, ring, robotRequest, now - TimeSpan.FromMinutes(15) + TimeSpan.FromSeconds(25)).ValueOrThrow();
        expiring.Audiences.Should().Equal(OriginAudience);
        expiring.Scopes.Should().Equal("storage.read:/store");

        // One CA signs both servers; its directory is the published ConfigMap written out (what the pod mounts).
        var tls = await LoopbackTls.CreateAsync(Path.Combine(tree.Root, "tls"), ct);
        var caConfigMap = XCacheTls.BuildCaConfigMap(instance, tls.CaPem);
        var caDirectory = Path.Combine(tree.Root, "published-ca");
        Directory.CreateDirectory(caDirectory);
        foreach (var (file, pem) in caConfigMap.Data) await File.WriteAllTextAsync(Path.Combine(caDirectory, file), pem, ct);

        // The session's X509_CERT_DIR as its init container builds it: the image's CA directory plus the published CA.
        // The volume is an emptyDir, world-writable as a kubelet makes it: xrootd refuses such a CA directory, so the
        // script builds its own subdirectory inside.
        var volume = Path.Combine(tree.Root, "session-x509-certificates");
        Directory.CreateDirectory(volume);
        File.SetUnixFileMode(volume, (UnixFileMode)0x1FF);
        var sessionCa = Path.Combine(volume, Path.GetFileName(Builders.Sessions.SessionCaDirectory.CertificateDirectory));
        var merged = await TestProcess.RunAsync("/bin/sh", ["-c", Builders.Sessions.SessionCaDirectory.Script],
            new Dictionary<string, string> { ["SOURCES"] = "/nonexistent/grid-security /etc/ssl/certs", ["EXTRA"] = caDirectory, ["DEST"] = sessionCa },
            timeout: TimeSpan.FromSeconds(60), cancellationToken: ct);
        merged.ExitCode.Should().Be(0, merged.Output);
        Directory.GetFiles(sessionCa).Length.Should().BeGreaterThan(10, "the system CAs stay trusted beside the cache's");
        File.ReadAllText(Path.Combine(sessionCa, caConfigMap.Data.Keys.Single())).Should().Be(tls.CaPem);

        var origin = await StartTokenOriginAsync(tree, originPort, tls, ct);
        await using var originScope = new AsyncCleanup(() => origin.DisposeAsync());

        var runtime = Path.Combine(tree.Root, "cache-run-user");
        Directory.CreateDirectory(runtime);
        var robotFile = TokenDelivery.TokenFile(ServerUid).Replace(TokenDelivery.RuntimeDirectory(ServerUid), runtime, StringComparison.Ordinal);
        await tree.DeliverTokenAsync("robot", expiring.Value, robotFile, ct);

        var cachePort = Ports.GetFree();
        var layout = tree.CacheLayout(cachePort, tls.Directory);
        var settings = XCacheSettings.FromSpec(instance.Spec, cacheIssuer);
        var keyCache = Path.Combine(tree.Root, "cache-key-cache");
        Directory.CreateDirectory(keyCache);
        var environment = new Dictionary<string, string>(XCacheOriginClient.Environment(XCacheOriginClient.SourceOf(instance.Spec), robotFile, caDirectory))
        {
            ["XDG_CACHE_HOME"] = keyCache,
        };
        environment.Keys.Should().BeEquivalentTo(["BEARER_TOKEN_FILE", "X509_CERT_DIR", "XDG_CACHE_HOME"]);
        await using var cache = await XCacheRealXrootdTests.StartCacheAsync(tree, settings, layout, ct, configPath => tree.StartTrustingXrootd(_issuer.CaBundlePath, configPath, environment, "xrootd-cache"));

        var userFile = Path.Combine(tree.Root, "user-run", $"bt_u{ServerUid}");
        Directory.CreateDirectory(Path.GetDirectoryName(userFile)!);
        await tree.DeliverTokenAsync("user", userToken.Value, userFile, ct);

        // The user's token is for the cache only: the origin refuses it, so whatever the cache fetches it fetches with its own.
        var direct = await XCacheTokenAuthorizationTests.CopyAsync(originPort, "/store/data/run1/first.root", Path.Combine(tree.Client, "direct.root"), caDirectory, userFile, ct);
        direct.ExitCode.Should().NotBe(0, $"the origin accepts only its own audience:\n{direct.Output}");

        // A session token reads through the cache; the miss went to the origin with the robot token.
        var copy = Path.Combine(tree.Client, "first.root");
        var read = await XCacheTokenAuthorizationTests.CopyAsync(cachePort, "/store/data/run1/first.root", copy, sessionCa, userFile, ct);
        read.ExitCode.Should().Be(0, $"xrdcp:\n{read.Output}\ncache:\n{cache.Output}\norigin:\n{origin.Output}");
        (await File.ReadAllBytesAsync(copy, ct)).Should().Equal(first);
        File.Exists(Path.Combine(layout.NamespaceDirectory, "store/data/run1/first.root.cinfo")).Should().BeTrue(cache.Output);

        // No token: refused by the cache.
        var anonymous = await XCacheTokenAuthorizationTests.CopyAsync(cachePort, "/store/data/run1/first.root", Path.Combine(tree.Client, "anonymous.root"), sessionCa, null, ct);
        anonymous.ExitCode.Should().NotBe(0, anonymous.Output);
        File.Exists(Path.Combine(tree.Client, "anonymous.root")).Should().BeFalse();

        // The robot token expires, and the origin restarts (as origins do): the cache must log in again, and a miss
        // cannot be fetched with the expired token (an open connection keeps the login it made while the token was valid).
        var wait = expiring.ExpiresAt - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(2);
        if (wait > TimeSpan.Zero) await Task.Delay(wait, ct);
        await origin.DisposeAsync();
        origin = await StartTokenOriginAsync(tree, originPort, tls, ct);
        var stale = await XCacheTokenAuthorizationTests.CopyAsync(cachePort, "/store/data/run2/second.root", Path.Combine(tree.Client, "stale.root"), sessionCa, userFile, ct);
        stale.ExitCode.Should().NotBe(0, $"the cache's token has expired:\n{stale.Output}\ncache:\n{cache.Output}");

        // 3030 is kXR_AuthFailed: the origin's login failed, not the file or the connection.
        stale.Output.Should().Contain("[3030]", "the cache could not log in to the origin with an expired token");
        // The operator mints the next token and the pod's refresher replaces the file: the same cache process uses it.
        var renewed = TokenMinter.Mint(robotSettings!, ring, robotRequest, DateTimeOffset.UtcNow).ValueOrThrow();
        await tree.DeliverTokenAsync("robot", renewed.Value, robotFile, ct);
        var after = Path.Combine(tree.Client, "second.root");
        var again = await XCacheTokenAuthorizationTests.CopyAsync(cachePort, "/store/data/run2/second.root", after, sessionCa, userFile, ct);
        again.ExitCode.Should().Be(0, $"xrdcp:\n{again.Output}\ncache:\n{cache.Output}\norigin:\n{origin.Output}");
        (await File.ReadAllBytesAsync(after, ct)).Should().Equal(second);
        cache.HasExited.Should().BeFalse("the renewed credential is read without restarting xrootd");
    }

    /// <summary>The origin under test's fixture: /store over TLS, every request needs a token for <see cref="OriginAudience"/>.</summary>
    private async Task<TestProcess> StartTokenOriginAsync(XrootdTree tree, int port, LoopbackTls tls, CancellationToken ct)
    {
        var directory = Path.Combine(tree.Root, "origin-conf");
        var admin = Path.Combine(tree.Root, "origin-run");
        var keyCache = Path.Combine(tree.Root, "origin-key-cache");
        foreach (var d in new[] { directory, admin, keyCache }) Directory.CreateDirectory(d);
        var scitokens = Path.Combine(directory, "scitokens.cfg");
        await File.WriteAllTextAsync(scitokens, XCacheConfig.RenderScitokens(new XCacheTokenTrust(_issuer.IssuerUrl, "/", [OriginAudience])), ct);
        var config = Path.Combine(directory, "origin.cfg");
        await File.WriteAllTextAsync(config, $"""
            all.export /store
            xrd.port {port}
            oss.localroot {tree.OriginData}
            all.adminpath {admin}
            all.pidpath {admin}
            xrd.tls {tls.Directory}/tls.crt {tls.Directory}/tls.key
            xrd.tlsca certfile {tls.Directory}/ca.crt
            xrootd.tls capable all
            xrootd.seclib libXrdSec.so
            sec.protocol ztn
            ofs.authorize 1
            ofs.authlib libXrdAccSciTokens.so config={scitokens}
            scitokens.trace error warning info
            """, ct);
        await tree.GiveToServerUserAsync(ct);
        var origin = tree.StartTrustingXrootd(_issuer.CaBundlePath, config, new Dictionary<string, string> { ["XDG_CACHE_HOME"] = keyCache }, "xrootd-origin-tokens");
        await XrootdTree.WaitForPortAsync(origin, port);
        return origin;
    }

    private sealed class AsyncCleanup(Func<ValueTask> cleanup) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => cleanup();
    }
}
