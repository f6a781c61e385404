using System.Text;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.Tokens.Issuance;
using AnalysisFacility.Operator.Tokens.Jose;
using AnalysisFacility.Operator.Tokens.Keys;

namespace AnalysisFacility.Operator.IntegrationTests.Tokens;

/// <summary>
/// Tokens minted by the operator, checked by the real scitokens-cpp (the library xrootd and HTCondor use), which
/// fetches discovery and the JWKS from the operator's endpoints over HTTPS on loopback.
/// </summary>
public sealed class ScitokensVerificationTests : IAsyncLifetime
{
    private const string Audience = "https://xcache.af.example.org";
    private LoopbackIssuer _issuer = null!;

    public async Task InitializeAsync() => _issuer = await LoopbackIssuer.StartAsync("/issuer/cms-af");
    public async Task DisposeAsync() => await _issuer.DisposeAsync();

    [Fact]
    public async Task Freshly_minted_token_is_accepted_at_once_and_grants_its_storage_scope()
    {
        var (settings, ring) = Setup(DateTimeOffset.UtcNow);
        var token = Mint(settings, ring, DateTimeOffset.UtcNow);
        var cache = NewCache();

        var verify = await Verify(token.Value, cache);
        verify.ExitCode.Should().Be(0, verify.Output);
        verify.Output.Should().Contain("Token deserialization successful");

        var read = await TestAccess(token.Value, Audience, "read", "/store/data/file.root", cache);
        read.ExitCode.Should().Be(0, read.Output);
        read.Output.Should().Contain("Access test successful");
        var write = await TestAccess(token.Value, Audience, "write", "/store/user/alice/out.root", cache);
        write.ExitCode.Should().Be(0, write.Output);
    }

    [Fact]
    public async Task Token_outside_its_scope_or_audience_is_refused()
    {
        var (settings, ring) = Setup(DateTimeOffset.UtcNow);
        var token = Mint(settings, ring, DateTimeOffset.UtcNow);
        var cache = NewCache();

        var otherUser = await TestAccess(token.Value, Audience, "write", "/store/user/bob/out.root", cache);
        otherUser.ExitCode.Should().NotBe(0, otherUser.Output);
        var rightAudience = await TestAccess(token.Value, Audience, "read", "/store/data/file.root", cache);
        rightAudience.ExitCode.Should().Be(0, "the same request with the token's audience is the control: " + rightAudience.Output);
        var wrongAudience = await TestAccess(token.Value, "https://other.example.org", "read", "/store/data/file.root", cache);
        wrongAudience.ExitCode.Should().NotBe(0, wrongAudience.Output);
    }

    [Fact]
    public async Task Tampered_token_is_refused()
    {
        var (settings, ring) = Setup(DateTimeOffset.UtcNow);
        var token = Mint(settings, ring, DateTimeOffset.UtcNow).Value;
        var parts = token.Split('.');
        var claims = JsonNode.Parse(Base64Url.Decode(parts[1]))!.AsObject();
        claims["scope"] = "storage.read:/ storage.modify:/";
        var tampered = $"{parts[0]}.{Base64Url.Encode(Encoding.UTF8.GetBytes(claims.ToJsonString()))}.{parts[2]}";
        var cache = NewCache();

        (await Verify(token, cache)).ExitCode.Should().Be(0, "the untouched token is the control");
        var result = await Verify(tampered, cache);
        result.ExitCode.Should().NotBe(0, result.Output);
    }

    [Fact]
    public async Task Expired_token_is_refused()
    {
        var now = DateTimeOffset.UtcNow;
        var (settings, ring) = Setup(now.AddHours(-3));
        var expired = Mint(settings, ring, now.AddHours(-2)); // 1 h lifetime: expired an hour ago
        expired.ExpiresAt.Should().BeBefore(now);

        var result = await Verify(expired.Value, NewCache());
        result.ExitCode.Should().NotBe(0, result.Output);
    }

    [Fact]
    public async Task Token_signed_by_an_unpublished_key_is_refused()
    {
        var now = DateTimeOffset.UtcNow;
        var (settings, ring) = Setup(now);
        var stranger = KeyRing.Empty.Rotate(now, settings.Rotation).Ring; // same issuer name, key never published
        var cache = NewCache();

        (await Verify(Mint(settings, ring, now).Value, cache)).ExitCode.Should().Be(0, "a token of the published key is the control");
        var result = await Verify(Mint(settings, stranger, now).Value, cache);
        result.ExitCode.Should().NotBe(0, result.Output);
    }

    [Fact]
    public async Task Tokens_signed_before_and_after_a_rotation_both_verify()
    {
        // Short periods: the first key has 4 s left of a 30 s period; its successor is published 5 s ahead.
        var now = DateTimeOffset.UtcNow;
        var policy = RotationPolicy.Default with { Period = TimeSpan.FromSeconds(30), PublishLeadTime = TimeSpan.FromSeconds(5), KeyCacheTime = TimeSpan.FromMinutes(5) };
        var settings = Settings(policy);
        var ring = KeyRing.Empty.Rotate(now.AddSeconds(-26), policy).Ring;
        ring = ring.Rotate(now, policy).Ring;
        ring.Entries.Should().HaveCount(2, "the successor is published before it signs");
        _issuer.Publish(ring);
        var cache = NewCache();

        var before = Mint(settings, ring, DateTimeOffset.UtcNow);
        (await Verify(before.Value, cache)).ExitCode.Should().Be(0);

        var successorStarts = ring.Entries[0].SignsFrom;
        // The first verification can outlast the 4 s on a slow machine: then there is nothing left to wait for.
        var untilSuccessor = successorStarts - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(500);
        if (untilSuccessor > TimeSpan.Zero) await Task.Delay(untilSuccessor);
        var rotated = ring.Rotate(DateTimeOffset.UtcNow, policy);
        _issuer.Publish(rotated.Ring);
        var after = Mint(settings, rotated.Ring, DateTimeOffset.UtcNow);

        after.KeyId.Should().NotBe(before.KeyId);
        var afterResult = await Verify(after.Value, cache);
        afterResult.ExitCode.Should().Be(0, afterResult.Output);
        var beforeAgain = await Verify(before.Value, cache);
        beforeAgain.ExitCode.Should().Be(0, "the retired key stays published while its tokens are valid: " + beforeAgain.Output);
    }

    private (IssuerSettings Settings, KeyRing Ring) Setup(DateTimeOffset keyCreatedAt)
    {
        var settings = Settings(RotationPolicy.Default);
        var ring = KeyRing.Empty.Rotate(keyCreatedAt, settings.Rotation).Ring;
        _issuer.Publish(ring);
        return (settings, ring);
    }

    private IssuerSettings Settings(RotationPolicy policy)
    {
        var spec = new TokenIssuerSpec { Issuer = _issuer.IssuerUrl, Audiences = [Audience], Lifetime = "1h" };
        var settings = IssuerSettings.FromSpec(spec, "6c1f0d3e-5a0b-4a8e-9d52-1f0e4b3c2a10").ValueOrThrow();
        return policy == RotationPolicy.Default ? settings : WithRotation(spec, policy);
    }

    private static IssuerSettings WithRotation(TokenIssuerSpec spec, RotationPolicy policy)
    {
        spec.Rotation = new KeyRotationSpec
        {
            Period = DurationText.Format(policy.Period),
            PublishLeadTime = DurationText.Format(policy.PublishLeadTime),
            KeyCacheTime = DurationText.Format(policy.KeyCacheTime),
        };
        return IssuerSettings.FromSpec(spec, "6c1f0d3e-5a0b-4a8e-9d52-1f0e4b3c2a10").ValueOrThrow();
    }

    private static MintedToken Mint(IssuerSettings settings, KeyRing ring, DateTimeOffset now) =>
        TokenMinter.Mint(settings, ring, new TokenRequest("alice@example.org", "alice", ["/cms"]), now).ValueOrThrow();

    /// <summary>Own HOME and XDG_CACHE_HOME: scitokens-cpp caches keys in sqlite there.</summary>
    private Dictionary<string, string> NewCache()
    {
        var home = _issuer.NewScratchDirectory();
        return new Dictionary<string, string> { ["HOME"] = home, ["XDG_CACHE_HOME"] = Path.Combine(home, ".cache") };
    }

    private Task<ProcessResult> Verify(string token, Dictionary<string, string> environment) =>
        Run("scitokens-verify", [token], environment);

    private Task<ProcessResult> TestAccess(string token, string audience, string authz, string path, Dictionary<string, string> environment) =>
        Run("scitokens-test-access", [token, _issuer.IssuerUrl, audience, authz, path], environment);

    private Task<ProcessResult> Run(string program, string[] arguments, Dictionary<string, string> environment)
    {
        var (fileName, commandArguments) = _issuer.TrustingCommand(Programs.Require(program), arguments);
        return TestProcess.RunAsync(fileName, commandArguments, environment, timeout: TimeSpan.FromSeconds(60));
    }
}
