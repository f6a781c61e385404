using System.Net;
using System.Runtime.Versioning;
using System.Text;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Sessions;
using AnalysisFacility.Operator.Builders.Tokens;
using AnalysisFacility.Operator.Controllers.Sessions;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Tokens.Issuance;
using k8s;
using k8s.Models;
using static AnalysisFacility.Operator.IntegrationTests.SessionController.SessionTestBed;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.IntegrationTests.SessionController;

/// <summary>The UserSession controller in the real operator against a real API server and controller-manager (GC).</summary>
[Collection(ControlPlaneCollection.Name)]
[SupportedOSPlatform("linux")]
public sealed class UserSessionControllerTests(ControlPlaneFixture fixture)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Mapped_and_unmapped_users_get_their_store_a_token_and_a_ready_session_then_deletion_keeps_the_store()
    {
        var bed = await CreateAsync(fixture, "sess-store");
        await using var harness = await OperatorHarness.StartAsync(fixture, [bed.Namespace]);
        await bed.CreateSessionAsync(MappedUser);
        await bed.CreateSessionAsync("carol"); // no mapping entry

        V1Pod? alicePod = null, carolPod = null;
        await Eventually.TrueAsync(async () =>
        {
            alicePod = await bed.GetAsync<V1Pod>(PodName(MappedUser));
            carolPod = await bed.GetAsync<V1Pod>(PodName("carol"));
            return alicePod is not null && carolPod is not null;
        }, Wait, "both notebook pods created");

        var aliceMount = alicePod!.Spec.Containers.Single(c => c.Name == SessionBuilder.NotebookContainer).VolumeMounts.Single(m => m.Name == SessionBuilder.StoreVolume);
        aliceMount.SubPath.Should().Be(MappedStore);
        aliceMount.ReadOnlyProperty.Should().NotBe(true);
        alicePod.Spec.Volumes.Single(v => v.Name == SessionBuilder.StoreVolume).PersistentVolumeClaim.ClaimName.Should().Be("user-store");
        var carolMount = carolPod!.Spec.Containers.Single(c => c.Name == SessionBuilder.NotebookContainer).VolumeMounts.Single(m => m.Name == SessionBuilder.StoreVolume);
        carolMount.SubPath.Should().Be("nobody");
        carolMount.ReadOnlyProperty.Should().BeTrue();
        carolPod.Spec.Volumes.Single(v => v.Name == SessionBuilder.StoreVolume).PersistentVolumeClaim.ReadOnlyProperty.Should().BeTrue();

        // Token pieces from Builders/Tokens: init container first, refresher sidecar, BEARER_TOKEN_FILE, never BEARER_TOKEN.
        alicePod.Spec.InitContainers[0].Name.Should().Be(TokenDelivery.InitContainerName);
        alicePod.Spec.Containers.Select(c => c.Name).Should().Contain(TokenDelivery.RefresherContainerName);
        var env = alicePod.Spec.Containers.Single(c => c.Name == SessionBuilder.NotebookContainer).Env;
        env.Should().Contain(e => e.Name == "BEARER_TOKEN_FILE" && e.Value == TokenDelivery.TokenFile(1000));
        env.Should().NotContain(e => e.Name == "BEARER_TOKEN");
        alicePod.Metadata.OwnerReferences.Single().Kind.Should().Be(UserSession.KindName);

        // The token: WLCG claims for the user's store directory, signed by the facility's active key.
        var token = await bed.TokenAsync(MappedUser);
        token.Should().NotBeNull();
        var (header, payload) = Decode(token!);
        header["kid"]!.GetValue<string>().Should().Be(bed.Ring!.ActiveAt(DateTimeOffset.UtcNow)!.Key.KeyId);
        payload["wlcg.ver"]!.GetValue<string>().Should().Be("1.0");
        payload["iss"]!.GetValue<string>().Should().Be("https://issuer.test.example/af");
        payload["scope"]!.GetValue<string>().Split(' ').Should().Contain($"storage.create:/store/user/{MappedStore}");
        payload["wlcg.groups"]!.AsArray().Select(g => g!.GetValue<string>()).Should().Equal("/cms");
        (payload["exp"]!.GetValue<long>() - payload["iat"]!.GetValue<long>()).Should().Be(15 * 60);
        Decode((await bed.TokenAsync("carol"))!).Payload["scope"]!.GetValue<string>().Should().Contain("/store/user/nobody");

        // Status before and after the pod is ready (the test plays kubelet).
        await Eventually.TrueAsync(async () => ConditionOf(await bed.SessionAsync(MappedUser), SessionConditions.TokenIssued)?.Status == "True",
            Wait, "TokenIssued");
        // Let the facility controller finish first: its status (endpoints) feeds the pod's environment.
        await harness.WaitForQuietAsync(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(60));
        await Kubelet.MarkPodReadyAsync(fixture.Api, bed.Namespace, PodName(MappedUser), "10.244.0.10");
        UserSession? ready = null;
        await Eventually.TrueAsync(async () => (ready = await bed.SessionAsync(MappedUser))?.Status?.Phase == SessionConditions.PhaseReady,
            Wait, "alice's session Ready");
        ready!.Status.ServerUrl.Should().Be("http://10.244.0.10:8888");
        ready.Status.PodName.Should().Be(PodName(MappedUser));
        ready.Status.TokenExpiresAt.Should().BeCloseTo(DateTime.UtcNow.AddMinutes(15), TimeSpan.FromMinutes(1));
        ready.Status.StoreName.Should().Be(MappedStore);
        ConditionOf(ready, SessionConditions.StorageMounted)!.Status.Should().Be("True");
        ready.Status.Conditions.Should().OnlyContain(c => c.ObservedGeneration == ready.Metadata.Generation);

        // Steady state: once the facility, Dask and session controllers have converged, nothing more to write.
        await SteadyState.AssertNoWritesAsync(() => harness.Host.Api.Calls.Writes, TimeSpan.FromSeconds(4), "a ready session");

        // Deleting the session removes what it owns (garbage collection), never the store claim.
        await fixture.Api.DeleteAsync(fixture.Api.Types.For<UserSession>(), bed.Namespace, SessionNames.ForUser(MappedUser), CancellationToken.None);
        await Eventually.TrueAsync(async () =>
            await bed.GetAsync<V1Pod>(PodName(MappedUser)) is null
            && await bed.GetAsync<V1Service>(PodName(MappedUser)) is null
            && await bed.GetAsync<V1Secret>(TokenSecretName(MappedUser)) is null
            && await bed.GetAsync<V1ConfigMap>(SessionNames.ClientConfig(SessionNames.ForUser(MappedUser))) is null,
            Wait, "pod, Service, token Secret and ConfigMap removed with the session");
        (await bed.GetAsync<V1PersistentVolumeClaim>("user-store")).Should().NotBeNull("deleting a session never deletes store data");
        (await bed.GetAsync<V1Pod>(PodName("carol"))).Should().NotBeNull("other sessions are untouched");
    }

    [Fact]
    public async Task An_old_token_is_replaced_and_the_refresher_puts_the_new_one_into_the_token_file()
    {
        var bed = await CreateAsync(fixture, "sess-refresh");
        await using var harness = await OperatorHarness.StartAsync(fixture, [bed.Namespace]);
        await bed.CreateSessionAsync(MappedUser);
        await Eventually.TrueAsync(async () => await bed.TokenAsync(MappedUser) is not null, Wait, "token minted");
        var first = (await bed.TokenAsync(MappedUser))!;
        await Task.Delay(3000);
        (await bed.TokenAsync(MappedUser)).Should().Be(first, "a fresh token is not re-minted");

        // Shrink the remaining time: a token minted 10 minutes ago (15 min lifetime: refresh due after 2 min).
        var old = TokenMinter.Mint(bed.Settings, bed.Ring!, new TokenRequest(MappedUser, MappedStore, ["/cms"]), DateTimeOffset.UtcNow.AddMinutes(-10)).ValueOrThrow();
        TokenLifetimes.NeedsRefresh(DateTimeOffset.UtcNow, old.IssuedAt, old.ExpiresAt).Should().BeTrue();

        // The pod side: a Secret-volume stand-in fed from the API, the real refresher script as an unprivileged user.
        var root = Path.Combine(Path.GetTempPath(), "session-refresh-" + Guid.NewGuid().ToString("N"));
        try
        {
            foreach (var d in new[] { "secret", "run", "tmp" }) Directory.CreateDirectory(Path.Combine(root, d));
            File.SetUnixFileMode(root, (UnixFileMode)Convert.ToInt32("755", 8));
            File.SetUnixFileMode(Path.Combine(root, "run"), (UnixFileMode)Convert.ToInt32("777", 8));
            File.SetUnixFileMode(Path.Combine(root, "tmp"), (UnixFileMode)Convert.ToInt32("777", 8));
            var source = Path.Combine(root, "secret", TokenDelivery.TokenKey);
            var destination = Path.Combine(root, "run", "bt_u65534");
            async Task FeedFromApiAsync()
            {
                var secret = (await bed.GetAsync<V1Secret>(TokenSecretName(MappedUser)))!;
                var temporary = source + ".new";
                await File.WriteAllBytesAsync(temporary, secret.Data[TokenDelivery.TokenKey]);
                File.SetUnixFileMode(temporary, (UnixFileMode)Convert.ToInt32("444", 8));
                File.Move(temporary, source, overwrite: true); // atomically, as kubelet updates Secret volumes
            }

            // Write the old token into the Secret (as if it had been there for 10 minutes) while the pod has it.
            var patch = new JsonObject { ["data"] = new JsonObject { [TokenDelivery.TokenKey] = Convert.ToBase64String(Encoding.ASCII.GetBytes(old.Value)) } };
            await fixture.Api.PatchAsync(fixture.Api.Types.For<V1Secret>(), bed.Namespace, TokenSecretName(MappedUser), patch.ToJsonString(),
                KubernetesApi.MergePatch, CancellationToken.None);
            await File.WriteAllTextAsync(source, old.Value);
            var environment = new Dictionary<string, string>
            {
                ["SRC"] = source, ["DEST"] = destination, ["LINK"] = Path.Combine(root, "tmp", "bt_u65534"), ["INTERVAL"] = "1", ["PATH"] = "/usr/bin:/bin",
            };
            await using var refresher = TestProcess.Start("/bin/sh", ["-c", TokenDelivery.RefresherScript], environment: environment, runAsUser: "nobody", name: "refresher");
            await refresher.WaitUntilAsync(() => Task.FromResult(File.Exists(destination) && File.ReadAllText(destination) == old.Value),
                TimeSpan.FromSeconds(20), "old token in the file");

            // The controller notices the Secret change and replaces the token.
            string? replaced = null;
            await Eventually.TrueAsync(async () => (replaced = await bed.TokenAsync(MappedUser)) is not null && replaced != old.Value,
                Wait, "old token replaced by the controller");
            var payload = Decode(replaced!).Payload;
            DateTimeOffset.FromUnixTimeSeconds(payload["iat"]!.GetValue<long>()).Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
            var status = (await bed.SessionAsync(MappedUser))!.Status;
            await Eventually.TrueAsync(async () => (await bed.SessionAsync(MappedUser))!.Status.TokenIssuedAt is { } iat
                && new DateTimeOffset(DateTime.SpecifyKind(iat, DateTimeKind.Utc)) >= DateTimeOffset.UtcNow.AddMinutes(-2), Wait, "status shows the new token");

            await FeedFromApiAsync();
            await refresher.WaitUntilAsync(() => Task.FromResult(File.ReadAllText(destination) == replaced), TimeSpan.FromSeconds(20), "new token in the file");
            var (exitCode, ownerAndMode) = await TestProcess.RunAsync("stat", ["-c", "%u %a", destination]);
            exitCode.Should().Be(0);
            ownerAndMode.Trim().Should().Be("65534 600");
            _ = status;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task The_operators_cache_holds_no_users_token_nor_client_files_and_a_restarted_operator_keeps_the_token_it_finds()
    {
        var bed = await CreateAsync(fixture, "sess-nocache");
        string token;
        await using (var harness = await OperatorHarness.StartAsync(fixture, [bed.Namespace]))
        {
            await bed.CreateSessionAsync(MappedUser);
            await Eventually.TrueAsync(async () => ConditionOf(await bed.SessionAsync(MappedUser), SessionConditions.TokenIssued)?.Status == "True",
                Wait, "TokenIssued");
            token = (await bed.TokenAsync(MappedUser))!;
            await harness.WaitForQuietAsync(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(60));

            // Every Secret the operator caches, as it holds them: the token Secret is there (metadata), its token is not.
            var secrets = harness.Host.Manager.Caches.Find(fixture.Api.Types.For<V1Secret>())!;
            var cached = (V1Secret)secrets.Get(new AnalysisFacility.Operator.Runtime.Cache.ObjectKey(bed.Namespace, TokenSecretName(MappedUser)))!;
            cached.Should().NotBeNull();
            cached.Data.Should().BeNull("token Secrets are cached without their data");
            var everything = string.Join("\n", ((AnalysisFacility.Operator.Runtime.Cache.Informer<V1Secret>)secrets).List().Select(s => ApiJson.Serialize(s)));
            everything.Should().NotContain(Convert.ToBase64String(Encoding.ASCII.GetBytes(token))).And.NotContain(token.Split('.')[2]);

            // The session's client configuration: written, read by the pod only, so cached without its files.
            var configMaps = harness.Host.Manager.Caches.Find(fixture.Api.Types.For<V1ConfigMap>())!;
            var sessionName = (await bed.SessionAsync(MappedUser))!.Metadata.Name;
            var clientConfig = (V1ConfigMap)configMaps.Get(new AnalysisFacility.Operator.Runtime.Cache.ObjectKey(bed.Namespace, SessionNames.ClientConfig(sessionName)))!;
            clientConfig.Should().NotBeNull();
            clientConfig.Data.Should().BeNull();
            (await bed.GetAsync<V1ConfigMap>(SessionNames.ClientConfig(sessionName)))!.Data.Should().NotBeEmpty("the pod reads it from the API server");
        }

        // A new operator process finds the token Secret (annotations and a digest of its data in its cache): no new token.
        await using (var restarted = await OperatorHarness.StartAsync(fixture, [bed.Namespace]))
        {
            await restarted.WaitForQuietAsync(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(60));
            (await bed.TokenAsync(MappedUser)).Should().Be(token, "the token is still fresh");
        }
    }

    [Fact]
    public async Task A_session_service_account_cannot_read_another_users_token_secret()
    {
        var bed = await CreateAsync(fixture, "sess-rbac");
        await using var harness = await OperatorHarness.StartAsync(fixture, [bed.Namespace]);
        await bed.CreateSessionAsync(MappedUser);
        await bed.CreateSessionAsync("bob");
        await Eventually.TrueAsync(async () => await bed.TokenAsync(MappedUser) is not null && await bed.TokenAsync("bob") is not null
            && await bed.GetAsync<V1ServiceAccount>(PodName(MappedUser)) is not null, Wait, "both tokens and alice's ServiceAccount");

        // A token for alice's session ServiceAccount from the TokenRequest API, as a pod would get if it mounted one.
        var request = new Authenticationv1TokenRequest { Spec = new V1TokenRequestSpec { Audiences = ["https://kubernetes.default.svc"], ExpirationSeconds = 600 } };
        var issued = await fixture.Api.Typed.CoreV1.CreateNamespacedServiceAccountTokenAsync(request, PodName(MappedUser), bed.Namespace);
        using var asAlice = new KubernetesApi(fixture.Plane.ConfigurationForToken(issued.Status.Token), ApiJson.Options);

        var secrets = asAlice.Types.For<V1Secret>();
        var bobs = async () => await asAlice.GetAsync(secrets, bed.Namespace, TokenSecretName("bob"), CancellationToken.None);
        (await bobs.Should().ThrowAsync<KubernetesApiException>()).Which.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        var list = async () => await asAlice.ListAsync(secrets, bed.Namespace, null, 10, null, CancellationToken.None);
        (await list.Should().ThrowAsync<KubernetesApiException>()).Which.StatusCode.Should().Be(HttpStatusCode.Forbidden);

        // The API server agrees when asked directly.
        var review = await asAlice.Typed.AuthorizationV1.CreateSelfSubjectAccessReviewAsync(new V1SelfSubjectAccessReview
        {
            Spec = new V1SelfSubjectAccessReviewSpec
            {
                ResourceAttributes = new V1ResourceAttributes { Verb = "get", Resource = "secrets", NamespaceProperty = bed.Namespace, Name = TokenSecretName("bob") },
            },
        });
        review.Status.Allowed.Should().BeFalse();
    }

    [Fact]
    public async Task A_session_past_its_ttl_is_deleted_with_an_event()
    {
        var bed = await CreateAsync(fixture, "sess-ttl");
        await using var harness = await OperatorHarness.StartAsync(fixture, [bed.Namespace]);
        var session = await bed.CreateSessionAsync(MappedUser, s => s.Ttl = "8s");
        await Eventually.TrueAsync(async () => await bed.GetAsync<V1Pod>(PodName(MappedUser)) is not null, Wait, "pod created");
        await Eventually.TrueAsync(async () => await bed.SessionAsync(MappedUser) is null, Wait, "session culled after its ttl");
        (DateTime.UtcNow - session.Metadata.CreationTimestamp!.Value).Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(7));
        var events = await fixture.Api.Typed.CoreV1.ListNamespacedEventAsync(bed.Namespace);
        events.Items.Should().Contain(e => e.Reason == "SessionExpired" && e.InvolvedObject.Name == session.Metadata.Name);
        (await bed.GetAsync<V1PersistentVolumeClaim>("user-store")).Should().NotBeNull();
    }

    [Fact]
    public async Task Missing_facility_is_reported_and_a_facility_without_keys_gets_them_so_the_session_is_served()
    {
        var bed = await CreateAsync(fixture, "sess-wait", withKeys: false);
        await bed.CreateSessionAsync("dave", facilityRef: "other-af");
        await bed.CreateSessionAsync(MappedUser);
        await using var harness = await OperatorHarness.StartAsync(fixture, [bed.Namespace]);

        await Eventually.TrueAsync(async () => ConditionOf(await bed.SessionAsync("dave"), SessionConditions.Ready)?.Reason == "FacilityNotFound",
            Wait, "dave: FacilityNotFound");
        var events = await fixture.Api.Typed.CoreV1.ListNamespacedEventAsync(bed.Namespace);
        events.Items.Should().Contain(e => e.Reason == "FacilityNotFound" && e.Type == "Warning");

        // No key Secret existed: the facility controller creates the signing keys and the session, which watches that
        // Secret, gets its token without waiting for its 30 s retry.
        await Eventually.TrueAsync(async () => ConditionOf(await bed.SessionAsync(MappedUser), SessionConditions.TokenIssued)?.Status == "True",
            TimeSpan.FromSeconds(20), "alice: token issued once the facility made its keys");
        (await bed.TokenAsync(MappedUser)).Should().NotBeNull();
    }

    [Fact]
    public async Task A_changed_pod_spec_replaces_the_pod_and_dask_gets_a_cluster()
    {
        var bed = await CreateAsync(fixture, "sess-edit");
        await using var harness = await OperatorHarness.StartAsync(fixture, [bed.Namespace]);
        await bed.CreateSessionAsync(MappedUser, s => s.Dask = new SessionDask { Enabled = true, Minimum = 1, Maximum = 4 });
        V1Pod? pod = null;
        await Eventually.TrueAsync(async () => (pod = await bed.GetAsync<V1Pod>(PodName(MappedUser))) is not null, Wait, "pod created");

        var cluster = await bed.GetAsync<DaskCluster>(SessionNames.DaskCluster(SessionNames.ForUser(MappedUser)));
        cluster.Should().NotBeNull();
        cluster!.Spec.FacilityRef.Should().Be(FacilityName);
        cluster.Spec.User.Should().Be(MappedUser);
        cluster.Spec.Adaptive!.Maximum.Should().Be(4);
        cluster.Metadata.OwnerReferences.Single().Kind.Should().Be(UserSession.KindName);
        var config = await bed.GetAsync<V1ConfigMap>(SessionNames.ClientConfig(SessionNames.ForUser(MappedUser)));
        config!.Data[SessionClientConfig.DaskKey].Should().Contain(
            SessionPlanning.PredictedSchedulerAddress(cluster.Metadata.Name, bed.Namespace, tls: true));

        var patch = new JsonObject { ["spec"] = new JsonObject { ["image"] = "coffeateam/coffea-casa:other" } };
        await fixture.Api.PatchAsync(fixture.Api.Types.For<UserSession>(), bed.Namespace, SessionNames.ForUser(MappedUser), patch.ToJsonString(),
            KubernetesApi.MergePatch, CancellationToken.None);
        await Eventually.TrueAsync(async () => await bed.GetAsync<V1Pod>(PodName(MappedUser)) is { } p && p.Metadata.Uid != pod!.Metadata.Uid
            && p.Spec.Containers.Any(c => c.Image == "coffeateam/coffea-casa:other"), Wait, "pod replaced with the new image");
    }

    [Fact]
    public async Task A_facility_change_waits_for_the_next_start_of_a_running_server_while_a_session_change_replaces_it()
    {
        var bed = await CreateAsync(fixture, "sess-policy");
        await using var harness = await OperatorHarness.StartAsync(fixture, [bed.Namespace]);
        await bed.CreateSessionAsync(MappedUser);
        var session = SessionNames.ForUser(MappedUser);
        await Eventually.TrueAsync(async () => await bed.GetAsync<V1Pod>(PodName(MappedUser)) is not null, Wait, "pod created");
        await Kubelet.MarkPodReadyAsync(fixture.Api, bed.Namespace, PodName(MappedUser), "10.244.0.11");
        await Eventually.TrueAsync(async () => ConditionOf(await bed.SessionAsync(MappedUser), SessionConditions.Ready)?.Status == "True", Wait, "session ready");
        var running = (await bed.GetAsync<V1Pod>(PodName(MappedUser)))!;

        // The admin points the facility at a cache: the client configuration changes at once, the running server stays.
        var facilityPatch = new JsonObject { ["spec"] = new JsonObject { ["xcache"] = new JsonObject { ["name"] = "xcache" } } };
        await fixture.Api.PatchAsync(fixture.Api.Types.For<FacilityResource>(), bed.Namespace, FacilityName,
            facilityPatch.ToJsonString(), KubernetesApi.MergePatch, CancellationToken.None);
        await Eventually.TrueAsync(async () =>
            (await bed.GetAsync<V1ConfigMap>(SessionNames.ClientConfig(session)))?.Data.TryGetValue("XCACHE_ENDPOINT", out var endpoint) == true
            && endpoint == $"root://xcache-xcache.{bed.Namespace}.svc:1094", Wait, "XCACHE_ENDPOINT in the client configuration");
        await Eventually.TrueAsync(async () => ConditionOf(await bed.SessionAsync(MappedUser), SessionConditions.ServerUpToDate) is { Status: "False", Reason: "RestartPending" },
            Wait, "the session reports the pending configuration");
        await Task.Delay(TimeSpan.FromSeconds(2)); // a wrong replacement would have happened by now
        var after = (await bed.GetAsync<V1Pod>(PodName(MappedUser)))!;
        after.Metadata.Uid.Should().Be(running.Metadata.Uid, "a facility change never kills a running notebook");
        after.Metadata.DeletionTimestamp.Should().BeNull();
        ConditionOf(await bed.SessionAsync(MappedUser), SessionConditions.Ready)!.Status.Should().Be("True");

        // The user asks for more memory: their own change replaces the pod now, with the facility's change in it.
        var sessionPatch = new JsonObject { ["spec"] = new JsonObject { ["memory"] = "6Gi" } };
        await fixture.Api.PatchAsync(fixture.Api.Types.For<UserSession>(), bed.Namespace, session, sessionPatch.ToJsonString(),
            KubernetesApi.MergePatch, CancellationToken.None);
        await Eventually.TrueAsync(async () => await bed.GetAsync<V1Pod>(PodName(MappedUser)) is { } p && p.Metadata.Uid != running.Metadata.Uid
            && p.Spec.Containers.Single(c => c.Name == SessionBuilder.NotebookContainer).Env.Any(e => e.Name == "XCACHE_ENDPOINT"), Wait,
            "pod replaced with the new memory and the cache endpoint");
        await Eventually.TrueAsync(async () => ConditionOf(await bed.SessionAsync(MappedUser), SessionConditions.ServerUpToDate)?.Status == "True",
            Wait, "the new pod has the current configuration");
    }

    [Fact]
    public async Task Sessions_started_together_all_reach_the_schedd_map_and_leave_it_when_deleted()
    {
        var bed = await CreateAsync(fixture, "sess-map");
        bed.Facility.Spec.HTCondor.Enabled.Should().BeTrue("the schedd map is an HTCondor facility's");
        await using var harness = await OperatorHarness.StartAsync(fixture, [bed.Namespace]);
        var users = new[] { MappedUser, "bob", "carol", "dave" };
        foreach (var user in users) await bed.CreateSessionAsync(user);

        var configName = new Builders.Facility.FacilityNames(FacilityName).CondorConfig;
        async Task<string> MapAsync() =>
            (await bed.GetAsync<V1ConfigMap>(configName))?.Data?.TryGetValue(Builders.Facility.HTCondorBuilder.MapFileKey, out var map) == true ? map : "";
        // A burst of session changes is gathered into one facility reconcile; every user must still be in the map.
        await Eventually.TrueAsync(async () => { var map = await MapAsync(); return users.All(u => map.Contains($" {u}@")); }, Wait,
            "every session's user in the SCITOKENS map");

        await fixture.Api.DeleteAsync(fixture.Api.Types.For<UserSession>(), bed.Namespace, SessionNames.ForUser("dave"), CancellationToken.None);
        await Eventually.TrueAsync(async () => !(await MapAsync()).Contains(" dave@"), Wait, "a deleted session's user leaves the map");
        (await MapAsync()).Should().Contain($" {MappedUser}@");
    }
}
