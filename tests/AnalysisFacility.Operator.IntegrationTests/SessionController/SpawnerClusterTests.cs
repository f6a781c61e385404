using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.Facility;
using AnalysisFacility.Operator.IntegrationTests.Sessions;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.Runtime.Apply;
using k8s.Models;
using static AnalysisFacility.Operator.IntegrationTests.SessionController.SessionTestBed;

namespace AnalysisFacility.Operator.IntegrationTests.SessionController;

/// <summary>
/// The chart's spawner as the hub pod runs it: configured by the generated jupyterhub_config.py and the hub
/// container's generated environment, talking plain HTTPS to the real kube-apiserver with the hub ServiceAccount's
/// own token and CA (the ServiceAccount, Role and RoleBinding the HubBuilder makes), under the import guard. The
/// operator runs; the test plays kubelet.
/// </summary>
[Collection(ControlPlaneCollection.Name)]
public sealed class SpawnerClusterTests(ControlPlaneFixture fixture) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("spawner-cluster-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private sealed record Hub(SessionTestBed Bed, GeneratedHub Generated, Dictionary<string, string> Kubelet, string ServiceAccountDirectory, string Token);

    /// <summary>The facility's hub RBAC applied for real, and what the kubelet would give the hub container.</summary>
    private async Task<Hub> HubAsync(string prefix)
    {
        var bed = await CreateAsync(fixture, prefix, edit: spec =>
        {
            spec.Hub.Authentication = new HubAuthentication { Type = "dummy" };
            spec.Hub.Profiles =
            [
                new SessionProfile { Name = "small", Image = "coffeateam/coffea-casa-analysis:latest", Cores = "2", Memory = "4Gi", Default = true },
                new SessionProfile { Name = "large", Image = "coffeateam/coffea-casa-analysis:latest", Cores = "8", Memory = "16Gi" },
            ];
        });
        var generated = SpawnerHarness.Materialise(bed.Facility, _directory);
        var (serviceAccount, token) = await HubServiceAccountAsync(fixture, bed, generated, _directory);
        var kubelet = new Dictionary<string, string>
        {
            ["KUBERNETES_SERVICE_HOST"] = "127.0.0.1",
            ["KUBERNETES_SERVICE_PORT"] = fixture.Plane.ApiServerPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        return new Hub(bed, generated, kubelet, serviceAccount, token);
    }

    /// <summary>
    /// Applies the hub's ServiceAccount, Role and RoleBinding as the HubBuilder makes them and writes what the kubelet
    /// mounts for that account (token, ca.crt, namespace) into a directory; returns it and the token.
    /// </summary>
    internal static async Task<(string Directory, string Token)> HubServiceAccountAsync(ControlPlaneFixture fixture, SessionTestBed bed,
        GeneratedHub generated, string directory)
    {
        var names = new FacilityNames(bed.Facility.Metadata.Name);
        foreach (var obj in generated.Objects.Where(o => o is V1ServiceAccount or V1Role or V1RoleBinding))
        {
            obj.Metadata.NamespaceProperty = bed.Namespace;
            try
            {
                await fixture.Api.CreateAsync(fixture.Api.Types.For(obj.GetType()), ApiJson.ToNode(obj), CancellationToken.None);
            }
            catch (AnalysisFacility.Operator.Runtime.Client.KubernetesApiException e) when (e.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
                // A running operator's facility controller made the same object from the same builder first.
            }
        }
        // The ServiceAccount's token Secret, as kube-controller-manager makes it and the kubelet mounts it in 1.20.
        V1Secret? tokenSecret = null;
        await Eventually.TrueAsync(async () =>
        {
            var list = await fixture.Api.ListAsync(fixture.Api.Types.For<V1Secret>(), bed.Namespace, null, 500, null, CancellationToken.None);
            tokenSecret = list.Items.Select(i => k8s.KubernetesJson.Deserialize<V1Secret>(i.ToJsonString()))
                .FirstOrDefault(s => s.Type == "kubernetes.io/service-account-token"
                    && s.Metadata.Annotations?.TryGetValue("kubernetes.io/service-account.name", out var sa) == true && sa == names.Hub
                    && s.Data?.ContainsKey("token") == true);
            return tokenSecret is not null;
        }, TimeSpan.FromSeconds(60), "the hub ServiceAccount's token Secret");
        var serviceAccount = Directory.CreateDirectory(Path.Combine(directory, "serviceaccount-" + bed.Namespace)).FullName;
        foreach (var key in new[] { "token", "ca.crt", "namespace" })
        {
            await File.WriteAllBytesAsync(Path.Combine(serviceAccount, key), tokenSecret!.Data[key]);
        }
        return (serviceAccount, Encoding.UTF8.GetString(tokenSecret!.Data["token"]));
    }

    private static object Scenario(Hub hub, string user, string[] steps, object? userOptions = null, object? authState = null, JsonObject? state = null) => new
    {
        user,
        auth_state = authState,
        user_options = userOptions ?? new { },
        overrides = new Dictionary<string, object> { ["service_account_dir"] = hub.ServiceAccountDirectory, ["poll_seconds"] = 0.3, ["delete_timeout"] = 30 },
        steps,
        state,
    };

    private static JsonObject Step(IReadOnlyList<JsonObject> results, string step) => results.First(r => r["step"]!.GetValue<string>() == step);

    [Fact]
    public async Task Hub_service_account_may_make_every_call_the_spawner_makes_and_no_secret_reads()
    {
        var hub = await HubAsync("spawner-rbac");
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true })
        {
            BaseAddress = new Uri(fixture.Plane.Server),
        };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", hub.Token);

        async Task<bool> Allowed(string group, string resource, string verb)
        {
            var review = new JsonObject
            {
                ["apiVersion"] = "authorization.k8s.io/v1", ["kind"] = "SelfSubjectAccessReview",
                ["spec"] = new JsonObject
                {
                    ["resourceAttributes"] = new JsonObject { ["namespace"] = hub.Bed.Namespace, ["group"] = group, ["resource"] = resource, ["verb"] = verb },
                },
            };
            var response = await http.PostAsync("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                new StringContent(review.ToJsonString(), Encoding.UTF8, "application/json"));
            response.EnsureSuccessStatusCode();
            return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["status"]!["allowed"]!.GetValue<bool>();
        }

        // Every call in the spawner module (its docstring lists them; the end-to-end tests make them for real).
        var calls = new (string Group, string Resource, string Verb)[]
        {
            (ApiGroup.Group, "usersessions", "get"), (ApiGroup.Group, "usersessions", "list"), (ApiGroup.Group, "usersessions", "create"),
            (ApiGroup.Group, "usersessions", "patch"), (ApiGroup.Group, "usersessions", "delete"), ("", "secrets", "create"),
        };
        foreach (var (group, resource, verb) in calls)
        {
            (await Allowed(group, resource, verb)).Should().BeTrue($"the spawner calls {verb} {resource}");
        }
        // The hub can never read or change the facility's Secrets (issuer keys, CA), nor touch pods or its own RBAC.
        foreach (var (group, resource, verb) in new[]
                 {
                     ("", "secrets", "get"), ("", "secrets", "list"), ("", "secrets", "update"), ("", "secrets", "delete"),
                     ("", "pods", "create"), (ApiGroup.Group, "usersessions/status", "update"), ("rbac.authorization.k8s.io", "roles", "update"),
                 })
        {
            (await Allowed(group, resource, verb)).Should().BeFalse($"the hub needs no {verb} on {resource}");
        }
    }

    [Fact]
    public async Task Spawner_creates_the_session_and_hub_env_with_the_hub_account_finds_it_again_after_a_restart_and_stop_deletes_it()
    {
        var hub = await HubAsync("spawner-run");
        await using var harness = await OperatorHarness.StartAsync(fixture, [hub.Bed.Namespace]);

        var authState = new { oauth_user = new { email = "alice@cern.ch", groups = new[] { "cms", "/cms/higgs" } } };
        await using var first = SpawnerHarness.Start(hub.Generated, _directory, Scenario(hub, MappedUser, ["start", "get_state"], authState: authState),
            hub.Kubelet, "hub-1");
        await first.WaitUntilAsync(async () => await hub.Bed.GetAsync<V1Pod>(PodName(MappedUser)) is not null, TimeSpan.FromSeconds(60), "the session's pod");
        var session = (await hub.Bed.SessionAsync(MappedUser))!;
        session.Spec.FacilityRef.Should().Be(FacilityName, "the generated config's facility_name reached the spawner");
        session.Spec.User.Email.Should().Be("alice@cern.ch", "auth_state carries the login's e-mail");
        session.Spec.User.Groups.Should().Equal("/cms", "/cms/higgs");
        session.Spec.Profile.Should().Be(hub.Bed.Facility.Spec.Hub.Profiles.Single(p => p.Default).Name);
        var hubEnv = await hub.Bed.GetAsync<V1Secret>(session.Spec.HubEnvSecretName!);
        hubEnv.Should().NotBeNull("the hub account may create the hub-env Secret");
        Encoding.UTF8.GetString(hubEnv!.Data["JUPYTERHUB_API_TOKEN"]).Should().Be("harness-api-token");
        hubEnv.Metadata.OwnerReferences.Single().Uid.Should().Be(session.Metadata.Uid);
        await Kubelet.MarkPodReadyAsync(fixture.Api, hub.Bed.Namespace, PodName(MappedUser), "127.0.0.1");

        var results = await SpawnerHarness.ResultsAsync(first, TimeSpan.FromSeconds(90));
        Step(results, "start")["result"]?.GetValue<string>().Should().Be("http://127.0.0.1:8888", first.Output);
        var state = Step(results, "get_state")["result"]!.AsObject();
        state["session_name"]!.GetValue<string>().Should().Be(session.Metadata.Name);

        // A new hub process (restart) with the saved state: the server is found running, then stopped.
        var second = await SpawnerHarness.RunAsync(hub.Generated, _directory,
            Scenario(hub, MappedUser, ["poll", "stop", "poll"], state: JsonNode.Parse(state.ToJsonString())!.AsObject()), hub.Kubelet, TimeSpan.FromSeconds(90));
        second[0]["result"].Should().BeNull("poll after a restart finds the running session: " + second[0].ToJsonString());
        second[0].ContainsKey("error").Should().BeFalse(second[0].ToJsonString());
        second[1].ContainsKey("error").Should().BeFalse(second[1].ToJsonString());
        second[2]["result"]!.GetValue<int>().Should().Be(0, "the stopped server is gone");
        (await hub.Bed.SessionAsync(MappedUser)).Should().BeNull();
    }

    [Fact]
    public async Task A_bad_profile_or_a_missing_facility_fails_the_spawn_with_the_operators_reason_and_leaves_nothing_behind()
    {
        var hub = await HubAsync("spawner-bad");
        await using var harness = await OperatorHarness.StartAsync(fixture, [hub.Bed.Namespace]);

        var badProfile = await SpawnerHarness.RunAsync(hub.Generated, _directory,
            Scenario(hub, MappedUser, ["start"], userOptions: new { profile = "no-such-profile" }), hub.Kubelet, TimeSpan.FromSeconds(90));
        var error = badProfile[0]["error"]?.GetValue<string>();
        error.Should().Contain("InvalidSpec").And.Contain("no-such-profile", "the spawn page shows the operator's message");
        await Eventually.TrueAsync(async () => await hub.Bed.SessionAsync(MappedUser) is null, TimeSpan.FromSeconds(30), "the failed session is deleted");

        var missing = new Dictionary<string, string>(hub.Kubelet) { [HubConfigGenerator.FacilityNameVariable] = "no-such-facility" };
        var missingFacility = await SpawnerHarness.RunAsync(hub.Generated, _directory, Scenario(hub, "bob", ["start"]), missing, TimeSpan.FromSeconds(90));
        missingFacility[0]["error"]!.GetValue<string>().Should().Contain("FacilityNotFound").And.Contain("no-such-facility");
        await Eventually.TrueAsync(async () => await hub.Bed.SessionAsync("bob") is null, TimeSpan.FromSeconds(30), "the failed session is deleted");

        var badName = await SpawnerHarness.RunAsync(hub.Generated, _directory, Scenario(hub, "bad name", ["start"]), hub.Kubelet, TimeSpan.FromSeconds(60));
        badName[0]["error"]!.GetValue<string>().Should().Contain("cannot have a session");

        // Nothing half-made: no session, and (after garbage collection) no hub-env Secret of the failed spawns.
        await Eventually.TrueAsync(async () =>
        {
            var sessions = await fixture.Api.ListAsync(fixture.Api.Types.For<UserSession>(), hub.Bed.Namespace, null, 500, null, CancellationToken.None);
            var secrets = await fixture.Api.ListAsync(fixture.Api.Types.For<V1Secret>(), hub.Bed.Namespace, null, 500, null, CancellationToken.None);
            return sessions.Items.Count == 0 && !secrets.Items.Any(s => s["metadata"]?["name"]?.GetValue<string>().Contains("-hub-env-") == true);
        }, TimeSpan.FromSeconds(60), "no session and no hub-env Secret left");
    }

    [Fact]
    public async Task A_session_an_admin_made_is_adopted_by_the_spawner_with_its_spec_kept()
    {
        var hub = await HubAsync("spawner-adopt");
        await using var harness = await OperatorHarness.StartAsync(fixture, [hub.Bed.Namespace]);
        // As in deploy/samples/sessions.yaml: any name, no hub environment, the admin's own choices.
        var admin = await hub.Bed.CreateSessionAsync(MappedUser, spec => { spec.Cores = "1"; spec.Ttl = "8h"; });
        var workshop = new UserSession
        {
            ApiVersion = admin.ApiVersion, Kind = admin.Kind,
            Metadata = new V1ObjectMeta { Name = "workshop-alice", NamespaceProperty = hub.Bed.Namespace },
            Spec = admin.Spec,
        };
        await fixture.Api.DeleteAsync(fixture.Api.Types.For<UserSession>(), hub.Bed.Namespace, admin.Metadata.Name, CancellationToken.None);
        await Eventually.TrueAsync(async () => await hub.Bed.SessionAsync(MappedUser) is null, TimeSpan.FromSeconds(30), "the first session gone");
        var created = ApiJson.Decode<UserSession>((await fixture.Api.CreateAsync(fixture.Api.Types.For<UserSession>(),
            ApiJson.ToNode(workshop), CancellationToken.None)).ToJsonString());
        created.Spec.HubEnvSecretName.Should().BeNull();

        var podName = Builders.Sessions.SessionNames.Server("workshop-alice");
        await using var spawner = SpawnerHarness.Start(hub.Generated, _directory, Scenario(hub, MappedUser, ["start", "get_state"]), hub.Kubelet, "hub");
        UserSession? adopted = null;
        await spawner.WaitUntilAsync(async () =>
        {
            adopted = await hub.Bed.GetAsync<UserSession>("workshop-alice");
            return adopted?.Spec.HubEnvSecretName is not null;
        }, TimeSpan.FromSeconds(60), "the session adopted");
        adopted!.Metadata.Uid.Should().Be(created.Metadata.Uid, "adopted, not replaced");
        adopted.Spec.Cores.Should().Be("1");
        adopted.Spec.Ttl.Should().Be("8h");
        adopted.Metadata.Labels[Labels.ManagedBy].Should().Be("jupyterhub");
        (await hub.Bed.GetAsync<V1Secret>(adopted.Spec.HubEnvSecretName!)).Should().NotBeNull();
        // The operator replaces the pod for the new hub environment; the pod that has it is marked ready.
        await spawner.WaitUntilAsync(async () => (await hub.Bed.GetAsync<V1Pod>(podName))?.Spec.Containers[0].EnvFrom?.Any(e => e.SecretRef?.Name == adopted.Spec.HubEnvSecretName) == true,
            TimeSpan.FromSeconds(60), "the pod with the hub environment");
        await Kubelet.MarkPodReadyAsync(fixture.Api, hub.Bed.Namespace, podName, "127.0.0.1");

        var results = await SpawnerHarness.ResultsAsync(spawner, TimeSpan.FromSeconds(90));
        Step(results, "start")["result"]?.GetValue<string>().Should().Be("http://127.0.0.1:8888", spawner.Output);
        Step(results, "get_state")["result"]!["session_name"]!.GetValue<string>().Should().Be("workshop-alice");
    }
}
