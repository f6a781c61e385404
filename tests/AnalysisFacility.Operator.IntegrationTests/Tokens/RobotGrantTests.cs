using System.Text.Json;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.Tokens.Discovery;
using AnalysisFacility.Operator.Tokens.Grants;
using AnalysisFacility.Operator.Tokens.Issuance;
using AnalysisFacility.Operator.Tokens.Keys;

namespace AnalysisFacility.Operator.IntegrationTests.Tokens;

/// <summary>
/// A CI robot gets a token with curl from the issuer's token endpoint over HTTPS (the endpoint code OperatorHost maps),
/// and scitokens-cpp, the library xrootd and HTCondor use, verifies it and allows exactly its storage scope.
/// </summary>
public sealed class RobotGrantTests : IAsyncLifetime
{
    private const string Audience = "https://xcache.cms-af.example.org";
    private const string Secret = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a6978";
    private LoopbackIssuer _issuer = null!;

    public async Task InitializeAsync()
    {
        _issuer = await LoopbackIssuer.StartAsync("/issuer/cms-af");
        var settings = IssuerSettings.FromSpec(new TokenIssuerSpec { Issuer = _issuer.IssuerUrl, Audiences = [Audience] }, "8e2b6f1a-4c3d-4e5f-9a7b-1c2d3e4f5a6b").ValueOrThrow();
        var ring = KeyRing.Empty.Rotate(DateTimeOffset.UtcNow, settings.Rotation).Ring;
        var robot = RobotClient.FromSpec(new RobotClientSpec
        {
            ClientId = "analysis-ci", Scopes = ["compute.create", "compute.read", "storage.read:/store"], Lifetime = "20m",
            SecretHashRef = new SecretKeyReference { Name = "robots", Key = "analysis-ci" },
        }, RobotClient.HashOf(Secret), "robots[0]").ValueOrThrow();
        _issuer.Publish(ring, new RobotGrants(settings, ring, new Dictionary<string, RobotClient> { [robot.ClientId] = robot }));
    }

    public async Task DisposeAsync() => await _issuer.DisposeAsync();

    private Task<ProcessResult> Curl(params string[] arguments) => TestProcess.RunAsync(Programs.Require("curl"),
        ["-sS", "--cacert", _issuer.CaBundlePath, "-w", "\n%{http_code}", .. arguments, _issuer.IssuerUrl + "/token"], timeout: TimeSpan.FromSeconds(30));

    private static (int Status, JsonElement Body) Answer(ProcessResult result)
    {
        result.ExitCode.Should().Be(0, result.Output);
        var lines = result.StandardOutput.TrimEnd().Split('\n');
        return (int.Parse(lines[^1], System.Globalization.CultureInfo.InvariantCulture), JsonDocument.Parse(string.Join('\n', lines[..^1])).RootElement.Clone());
    }

    [Fact]
    public async Task A_registered_robot_gets_a_token_that_scitokens_verifies_and_that_grants_its_storage_scope_only()
    {
        var (status, body) = Answer(await Curl("-u", $"analysis-ci:{Secret}", "-d", "grant_type=client_credentials", "-d", "scope=storage.read:/store compute.read"));
        status.Should().Be(200, body.ToString());
        body.GetProperty("token_type").GetString().Should().Be("Bearer");
        body.GetProperty("expires_in").GetInt64().Should().Be(1200);
        var token = body.GetProperty("access_token").GetString()!;

        var home = _issuer.NewScratchDirectory();
        var environment = new Dictionary<string, string> { ["HOME"] = home, ["XDG_CACHE_HOME"] = Path.Combine(home, ".cache") };
        var verify = await Run("scitokens-verify", [token], environment);
        verify.ExitCode.Should().Be(0, verify.Output);
        var read = await Run("scitokens-test-access", [token, _issuer.IssuerUrl, Audience, "read", "/store/data/run1.root"], environment);
        read.ExitCode.Should().Be(0, read.Output);
        var write = await Run("scitokens-test-access", [token, _issuer.IssuerUrl, Audience, "write", "/store/data/run1.root"], environment);
        write.ExitCode.Should().NotBe(0, "the robot has no storage.modify: " + write.Output);
        var outside = await Run("scitokens-test-access", [token, _issuer.IssuerUrl, Audience, "read", "/other/file"], environment);
        outside.ExitCode.Should().NotBe(0, outside.Output);

        var discovery = await TestProcess.RunAsync(Programs.Require("curl"), ["-sS", "--cacert", _issuer.CaBundlePath, _issuer.IssuerUrl + "/.well-known/openid-configuration"], timeout: TimeSpan.FromSeconds(30));
        JsonDocument.Parse(discovery.StandardOutput).RootElement.GetProperty("token_endpoint").GetString().Should().Be(_issuer.IssuerUrl + "/token");
    }

    [Theory]
    [InlineData("analysis-ci", "wrong", "grant_type=client_credentials", 401, "invalid_client")]
    [InlineData("unknown-ci", Secret, "grant_type=client_credentials", 401, "invalid_client")]
    [InlineData("analysis-ci", Secret, "grant_type=client_credentials&scope=storage.modify:/store", 400, "invalid_scope")]
    [InlineData("analysis-ci", Secret, "grant_type=authorization_code&code=x", 400, "unsupported_grant_type")]
    public async Task Refusals_carry_the_RFC_6749_error_codes(string id, string secret, string form, int expectedStatus, string expectedError)
    {
        var (status, body) = Answer(await Curl("-u", $"{id}:{secret}", "-d", form));
        status.Should().Be(expectedStatus, body.ToString());
        body.GetProperty("error").GetString().Should().Be(expectedError);
        body.TryGetProperty("access_token", out _).Should().BeFalse();
        body.ToString().Should().NotContain(Secret);
    }

    [Fact]
    public async Task Repeated_wrong_secrets_are_refused_for_a_while_even_with_the_right_one()
    {
        for (var i = 0; i < 5; i++) Answer(await Curl("-u", "analysis-ci:guess" + i, "-d", "grant_type=client_credentials")).Status.Should().Be(401);
        var (status, body) = Answer(await Curl("-u", $"analysis-ci:{Secret}", "-d", "grant_type=client_credentials"));
        status.Should().Be(429);
        body.GetProperty("error").GetString().Should().Be("temporarily_unavailable");
    }

    private Task<ProcessResult> Run(string program, string[] arguments, Dictionary<string, string> environment)
    {
        var (fileName, commandArguments) = _issuer.TrustingCommand(Programs.Require(program), arguments);
        return TestProcess.RunAsync(fileName, commandArguments, environment, timeout: TimeSpan.FromSeconds(60));
    }
}
