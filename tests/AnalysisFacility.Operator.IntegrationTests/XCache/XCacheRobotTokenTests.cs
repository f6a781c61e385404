using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text.Json;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.XCache;
using AnalysisFacility.Operator.Controllers.XCache;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.IntegrationTests.Tokens;
using AnalysisFacility.Operator.Tokens.Discovery;
using AnalysisFacility.Operator.Tokens.Grants;
using AnalysisFacility.Operator.Tokens.Issuance;
using AnalysisFacility.Operator.Tokens.Keys;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.IntegrationTests.XCache;

/// <summary>
/// A CI pipeline's robot client at the facility's own issuer (spec.tokens.robots, the client-credentials grant over the
/// real HTTPS token endpoint, obtained with curl as the pipeline does) reads through the facility's real xrootd cache,
/// whose configuration the controller's planning makes from the same facility. A robot token without a storage scope
/// is refused by the cache.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class XCacheRobotTokenTests : IAsyncLifetime
{
    private const string Audience = "https://xcache.cms-af.example.org";
    private const string Secret = "7d3c2b1a0f9e8d7c6b5a49382716a5b4c3d2e1f0";
    private const int ClientUid = 65534;
    private LoopbackIssuer _issuer = null!;
    private FacilityResource _facility = null!;

    public async Task InitializeAsync()
    {
        _issuer = await LoopbackIssuer.StartAsync("/issuer/cms-af");
        _facility = new FacilityResource
        {
            Metadata = new() { Name = "cms-af", NamespaceProperty = "af", Uid = "3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b" },
            Spec = new AnalysisFacilitySpec
            {
                Tokens = new TokenIssuerSpec
                {
                    Issuer = _issuer.IssuerUrl,
                    Audiences = [Audience],
                    Robots =
                    [
                        new RobotClientSpec
                        {
                            ClientId = "analysis-ci", Scopes = ["compute.create", "compute.read", "storage.read:/store"], Lifetime = "20m",
                            SecretHashRef = new SecretKeyReference { Name = "robots", Key = "analysis-ci" },
                        },
                    ],
                },
            },
        };
        // What the facility controller publishes: the issuer's key ring and its robots, the secret known only by its hash.
        var settings = IssuerSettings.FromSpec(_facility.Spec.Tokens, _facility.Metadata.Uid).ValueOrThrow();
        var ring = KeyRing.Empty.Rotate(DateTimeOffset.UtcNow, settings.Rotation).Ring;
        var robot = RobotClient.FromSpec(_facility.Spec.Tokens.Robots[0], RobotClient.HashOf(Secret), "spec.tokens.robots[0]").ValueOrThrow();
        _issuer.Publish(ring, new RobotGrants(settings, ring, new Dictionary<string, RobotClient> { [robot.ClientId] = robot }));
    }

    public async Task DisposeAsync() => await _issuer.DisposeAsync();

    [Fact]
    public async Task Robot_token_from_the_token_endpoint_reads_through_the_cache_and_one_without_storage_scope_is_refused()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var ct = cts.Token;
        await using var tree = XrootdTree.Create();
        var content = RandomNumberGenerator.GetBytes(2 * 1024 * 1024 + 3);
        tree.WriteOriginFile("/store/data/ci/inputs.root", content);
        var originPort = Ports.GetFree();
        await using var origin = await tree.StartOriginAsync(originPort, ct);

        var instance = XrootdTree.FacilityCache(originPort);
        var (issuer, errors) = XCachePlanning.IssuerOf(_facility);
        errors.Should().BeEmpty();
        XCacheValidator.Validate(instance, issuer).Should().BeEmpty();
        var tls = await LoopbackTls.CreateAsync(Path.Combine(tree.Root, "tls"), ct);
        var keyCache = Path.Combine(tree.Root, "scitokens-key-cache");
        Directory.CreateDirectory(keyCache);
        var layout = tree.CacheLayout(Ports.GetFree(), tls.Directory);
        await using var cache = await XCacheRealXrootdTests.StartCacheAsync(tree, XCacheSettings.FromSpec(instance.Spec, issuer), layout, ct,
            configPath => tree.StartTrustingXrootd(_issuer.CaBundlePath, configPath, new Dictionary<string, string> { ["XDG_CACHE_HOME"] = keyCache }, "xrootd-cache-robot"));

        // The pipeline's token, with its storage scope: read through the cache, and the file is cached.
        var storageToken = await RobotTokenAsync("storage.read:/store compute.read", ct);
        var tokenFile = Path.Combine(tree.Root, "ci-run", $"bt_u{ClientUid}");
        await tree.DeliverTokenAsync("ci", storageToken, tokenFile, ct);
        var copy = Path.Combine(tree.Client, "inputs.root");
        var read = await XCacheTokenAuthorizationTests.CopyAsync(layout.XrootPort, "/store/data/ci/inputs.root", copy, tls.CaDirectory, tokenFile, ct);
        read.ExitCode.Should().Be(0, $"xrdcp:\n{read.Output}\ncache:\n{cache.Output}");
        (await File.ReadAllBytesAsync(copy, ct)).Should().Equal(content);
        File.Exists(Path.Combine(layout.NamespaceDirectory, "store/data/ci/inputs.root.cinfo")).Should().BeTrue(cache.Output);

        // The same robot asking for compute scopes only: a valid token of a trusted issuer, but no storage.read, so refused.
        var computeToken = await RobotTokenAsync("compute.read compute.create", ct);
        var computeFile = Path.Combine(tree.Root, "ci-compute-run", $"bt_u{ClientUid}");
        await tree.DeliverTokenAsync("ci-compute", computeToken, computeFile, ct);
        var refused = await XCacheTokenAuthorizationTests.CopyAsync(layout.XrootPort, "/store/data/ci/inputs.root",
            Path.Combine(tree.Client, "compute.root"), tls.CaDirectory, computeFile, ct);
        refused.ExitCode.Should().NotBe(0, refused.Output);
        refused.Output.Should().ContainEquivalentOf("permission denied");
        File.Exists(Path.Combine(tree.Client, "compute.root")).Should().BeFalse();
    }

    /// <summary>curl -u id:secret -d grant_type=client_credentials against the issuer's HTTPS token endpoint, as a CI job runs it.</summary>
    private async Task<string> RobotTokenAsync(string scope, CancellationToken ct)
    {
        var result = await TestProcess.RunAsync(Programs.Require("curl"),
            ["-sS", "--fail-with-body", "--cacert", _issuer.CaBundlePath, "-u", $"analysis-ci:{Secret}",
             "-d", "grant_type=client_credentials", "--data-urlencode", $"scope={scope}", _issuer.IssuerUrl + "/token"],
            timeout: TimeSpan.FromSeconds(30), cancellationToken: ct);
        result.ExitCode.Should().Be(0, result.Output);
        using var body = JsonDocument.Parse(result.StandardOutput);
        return body.RootElement.GetProperty("access_token").GetString()!;
    }
}
