using AnalysisFacility.Operator.Builders.Common;
using System.Runtime.Versioning;
using System.Text;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Tokens;
using AnalysisFacility.Operator.IntegrationTests.Sessions;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.Runtime.Apply;
using k8s;
using k8s.Models;
using static AnalysisFacility.Operator.IntegrationTests.SessionController.SessionTestBed;

namespace AnalysisFacility.Operator.IntegrationTests.SessionController;

/// <summary>
/// The experiment's token from login to the session, with every part real but the browser: Debian's glewlwyd on loopback
/// HTTPS is the experiment's IAM (a private CA, given to the facility as spec.hub.authentication.oauth.caConfigMap); its
/// password grant stands in for the browser's authorization-code login and gives the hub's client a refresh token, which
/// goes into auth_state as OAuthenticator 16.3 stores it. The chart's spawner, configured by the generated hub config and
/// running with the hub's ServiceAccount, hands it over; the operator refreshes it at the IAM's token endpoint with the
/// OAuth client from the admin's Secrets, and the session's pod gets the access token as its BEARER_TOKEN_FILE.
/// </summary>
[SupportedOSPlatform("linux")]
[Collection(ControlPlaneCollection.Name)]
public sealed class ExperimentTokenSessionTests(ControlPlaneFixture fixture) : IAsyncLifetime
{
    private const string HubClient = "cms-af-hub";
    private const string HubClientSecret = "hub-client-5e4f3a2b1c0d9a8b";
    private const string StoreScope = "storage.read:/store";
    private static readonly TimeSpan IamTokenLifetime = TimeSpan.FromSeconds(20);
    private readonly string _directory = Directory.CreateTempSubdirectory("experiment-token-").FullName;
    private Glewlwyd _iam = null!;

    public async Task InitializeAsync()
    {
        _iam = await Glewlwyd.StartAsync(new GlewlwydOptions([StoreScope], "https://xcache.cms-af.example.org", IamTokenLifetime), CancellationToken.None);
        await _iam.AddClientAsync(HubClient, HubClientSecret, ["openid", StoreScope], ["code", "password", "refresh_token"], CancellationToken.None,
            redirectUri: "https://cms-af.example.org/hub/oauth_callback");
        await _iam.AddUserAsync(MappedUser, "alice-password", ["openid", StoreScope], CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _iam.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task A_hub_login_gives_the_session_the_IAMs_token_refreshed_before_expiry_and_a_revoked_login_is_a_condition()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var ct = cts.Token;
        var bed = await CreateAsync(fixture, "experiment-token", edit: spec =>
        {
            spec.Hub.Authentication = new HubAuthentication
            {
                Type = "oauth",
                OAuth = new OAuthSpec
                {
                    AuthorizeUrl = _iam.Issuer + "/auth", TokenUrl = _iam.TokenEndpoint, UserdataUrl = _iam.Issuer + "/userinfo",
                    CallbackUrl = "https://cms-af.example.org/hub/oauth_callback",
                    Scopes = ["openid", StoreScope, "offline_access"],
                    ClientIdSecretRef = new SecretKeyReference { Name = "iam-client", Key = "id" },
                    ClientSecretSecretRef = new SecretKeyReference { Name = "iam-client", Key = "secret" },
                    CaConfigMap = "iam-ca",
                },
            };
            spec.Tokens.SessionToken = "experiment";
        });
        await AddAsync(bed, new V1Secret
        {
            ApiVersion = "v1", Kind = "Secret", Metadata = new V1ObjectMeta { Name = "iam-client", NamespaceProperty = bed.Namespace },
            StringData = new Dictionary<string, string> { ["id"] = HubClient, ["secret"] = HubClientSecret },
        });
        await AddAsync(bed, new V1ConfigMap
        {
            ApiVersion = "v1", Kind = "ConfigMap", Metadata = new V1ObjectMeta { Name = "iam-ca", NamespaceProperty = bed.Namespace },
            Data = new Dictionary<string, string> { ["ca.crt"] = await File.ReadAllTextAsync(_iam.CaBundlePath, ct) },
        });
        var generated = SpawnerHarness.Materialise(bed.Facility, _directory,
            new Dictionary<string, string> { ["iam-client/id"] = HubClient, ["iam-client/secret"] = HubClientSecret });
        var (serviceAccount, _) = await SpawnerClusterTests.HubServiceAccountAsync(fixture, bed, generated, _directory);
        await using var harness = await OperatorHarness.StartAsync(fixture, [bed.Namespace]);

        // The login, as the hub's OAuthenticator keeps it in auth_state.
        var login = await _iam.PasswordAsync(HubClient, HubClientSecret, MappedUser, "alice-password", "openid " + StoreScope, ct);
        login.RefreshToken.Should().NotBeNullOrEmpty();
        var authState = new
        {
            access_token = login.AccessToken, refresh_token = login.RefreshToken, scope = new[] { "openid", StoreScope },
            oauth_user = new { email = "alice@cern.ch", groups = new[] { "/cms" } },
        };
        var scenario = new
        {
            user = MappedUser, auth_state = authState, user_options = new { },
            overrides = new Dictionary<string, object> { ["service_account_dir"] = serviceAccount, ["poll_seconds"] = 0.3 },
            steps = new[] { "start" },
        };
        var kubelet = new Dictionary<string, string>
        {
            ["KUBERNETES_SERVICE_HOST"] = "127.0.0.1",
            ["KUBERNETES_SERVICE_PORT"] = fixture.Plane.ApiServerPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        await using var spawner = SpawnerHarness.Start(generated, _directory, scenario, kubelet, "hub");
        await spawner.WaitUntilAsync(async () => await bed.GetAsync<V1Pod>(PodName(MappedUser)) is not null, TimeSpan.FromSeconds(60), "the session's pod");

        // The handover: a Secret of the session's own, never the pod's environment or spec.
        var session = (await bed.SessionAsync(MappedUser))!;
        session.Spec.RefreshTokenSecretName.Should().NotBeNullOrEmpty();
        var handover = (await bed.GetAsync<V1Secret>(session.Spec.RefreshTokenSecretName!))!;
        Encoding.UTF8.GetString(handover.Data[ExperimentTokenSecret.RefreshTokenKey]).Should().Be(login.RefreshToken);
        handover.Metadata.OwnerReferences.Single().Uid.Should().Be(session.Metadata.Uid);
        var hubEnv = (await bed.GetAsync<V1Secret>(session.Spec.HubEnvSecretName!))!;
        hubEnv.Data.Values.Select(Encoding.UTF8.GetString).Should().NotContain(v => v.Contains(login.RefreshToken!));
        var pod = (await bed.GetAsync<V1Pod>(PodName(MappedUser)))!;
        ApiJson.ToNode(pod).ToJsonString().Should().NotContain(login.RefreshToken!);

        // The pod's session token is the experiment token; the facility's stays for HTCondor.
        var uid = bed.Facility.Spec.Sessions.RunAsUser;
        var notebook = pod.Spec.Containers.Single(c => c.Name == "notebook");
        Env(notebook, "BEARER_TOKEN_FILE").Should().Be(TokenDelivery.TokenFile(uid));
        Env(notebook, TokenDelivery.ExperimentTokenVariable).Should().Be(TokenDelivery.TokenFile(uid));
        Env(notebook, TokenDelivery.FacilityTokenVariable).Should().Be(TokenDelivery.FacilityTokenFile(uid));
        Env(notebook, "_condor_SCITOKENS_FILE").Should().Be(TokenDelivery.FacilityTokenFile(uid));
        var experimentSecretName = ExperimentTokenSecret.Name(FacilityName, MappedUser);
        pod.Spec.Volumes.SelectMany(v => v.Projected?.Sources ?? []).Should().Contain(s => s.Secret != null && s.Secret.Name == experimentSecretName);

        await Kubelet.MarkPodReadyAsync(fixture.Api, bed.Namespace, PodName(MappedUser), "127.0.0.1");
        var started = await SpawnerHarness.ResultsAsync(spawner, TimeSpan.FromSeconds(90));
        started[0].ContainsKey("error").Should().BeFalse(started[0].ToJsonString());

        // The operator's refresh at the IAM: a token of the IAM for alice, in the operator's Secret.
        string? first = null;
        await Eventually.TrueAsync(async () => (first = await ExperimentTokenAsync(bed, experimentSecretName)) is not null, TimeSpan.FromSeconds(60),
            "the first experiment token");
        var claims = Glewlwyd.Claims(first!);
        claims["iss"]!.GetValue<string>().Should().Be(_iam.Issuer);
        claims["sub"]!.GetValue<string>().Should().Be(Glewlwyd.Claims(login.AccessToken)["sub"]!.GetValue<string>());
        await Eventually.TrueAsync(async () => ConditionOf(await bed.SessionAsync(MappedUser), "ExperimentTokenReady")?.Status == "True",
            TimeSpan.FromSeconds(30), "ExperimentTokenReady");

        // Refreshed before it expires (a 20 s token is replaced at half its life), without a new login.
        var firstExpiry = DateTimeOffset.FromUnixTimeSeconds(claims["exp"]!.GetValue<long>());
        string? second = null;
        await Eventually.TrueAsync(async () => (second = await ExperimentTokenAsync(bed, experimentSecretName)) is { } t && t != first,
            TimeSpan.FromSeconds(40), "a refreshed experiment token");
        var secondIssued = DateTimeOffset.FromUnixTimeSeconds(Glewlwyd.Claims(second!)["iat"]!.GetValue<long>());
        secondIssued.Should().BeBefore(firstExpiry, "the token is replaced before it expires");

        // Revoked at the IAM: the next refresh is refused; the session says so, and an Event records it. Nothing crashes.
        await _iam.RevokeAsync(HubClient, HubClientSecret, login.RefreshToken!, ct);
        await Eventually.TrueAsync(async () => ConditionOf(await bed.SessionAsync(MappedUser), "ExperimentTokenReady") is { Status: "False", Reason: "RefreshTokenRevoked" },
            TimeSpan.FromSeconds(40), "ExperimentTokenReady=False RefreshTokenRevoked");
        (await ExperimentTokenAsync(bed, experimentSecretName)).Should().BeNull("a revoked login's tokens are dropped");
        var events = await fixture.Api.Typed.CoreV1.ListNamespacedEventAsync(bed.Namespace, cancellationToken: ct);
        events.Items.Should().Contain(e => e.Reason == "RefreshTokenRevoked" && e.Type == "Warning" && e.InvolvedObject.Name == session.Metadata.Name);
        events.Items.Should().NotContain(e => e.Message.Contains(login.RefreshToken!));
        var status = (await bed.SessionAsync(MappedUser))!.Status;
        ConditionOf(await bed.SessionAsync(MappedUser), "TokenIssued")!.Status.Should().Be("True", "the facility token is unaffected: " + string.Join("; ", status!.Conditions.Select(c => $"{c.Type}={c.Status} {c.Reason}")));
    }

    private static string? Env(V1Container container, string name) => container.Env.SingleOrDefault(e => e.Name == name)?.Value;

    private static async Task<string?> ExperimentTokenAsync(SessionTestBed bed, string name)
    {
        var secret = await bed.GetAsync<V1Secret>(name);
        return secret?.Data?.TryGetValue(TokenDelivery.TokenKey, out var bytes) == true ? Encoding.ASCII.GetString(bytes) : null;
    }

    private static async Task AddAsync(SessionTestBed bed, k8s.IKubernetesObject<V1ObjectMeta> obj) =>
        await bed.Api.CreateAsync(bed.Api.Types.For(obj.GetType()), ApiJson.ToNode(obj), CancellationToken.None);
}
