using System.Text.Json.Nodes;
using AnalysisFacility.LocalCluster.Node;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Sessions;
using AnalysisFacility.Operator.Dev;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.Runtime.Client;
using k8s;
using k8s.Models;
using Serilog;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.IntegrationTests.Journey;

/// <summary>
/// The product's acceptance test: an admin applies a facility and a cache, and a physicist logs in through the hub's
/// public port and works. Everything runs as real processes on the local node from what the operator generated: the
/// hub (its generated jupyterhub_config.py and the chart's spawner, with the hub's ServiceAccount), configurable-http-
/// proxy, jupyterhub-singleuser, the Dask scheduler and worker, BindFS and xrootd. The test writes no configuration
/// for any of them; it only plays the admin (the custom resources, the origin data server the site already has) and
/// the user (a browser, and commands run in the notebook as a terminal would).
/// </summary>
[Collection(LocalClusterCollection.Name)]
public sealed class PhysicistJourneyTests(LocalClusterFixture fixture)
{
    private const string FacilityName = "jaf";
    private const string CacheName = "jcache";
    private const string MappedUser = "alice@example.org";
    private const string MappedStore = "alice";
    private const string UnmappedUser = "bob@example.org";
    private const string OriginFile = "/store/journey/events.txt";
    private const string OriginContent = "events of the journey";
    /// <summary>The workshop password of the dummy login (in a Secret the admin makes).</summary>
    private const string LoginPassword = "workshop-2026";
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    /// <summary>Where the "site storage" of this test lives: made by the test as a site's storage would exist.</summary>
    private const string StoreRoot = "/var/lib/af-journey";

    [Fact]
    public async Task A_physicist_logs_in_gets_a_session_and_uses_token_Dask_XCache_store_and_HTCondor_settings()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(12));
        var ct = cts.Token;
        var cluster = fixture.Cluster;
        var client = fixture.Client;
        var node = cluster.Node;
        var ns = await fixture.CreateNamespaceAsync("journey");
        var store = await PrepareSiteStorageAsync(node.Slot.Index, ns);
        var log = new LoggerConfiguration().MinimumLevel.Warning().WriteTo.Console().CreateLogger();
        await using var facilityOperator = await LocalFacilityOperator.StartAsync(cluster.Plane.AdminConfiguration(), cluster, log, ct);
        var api = facilityOperator.Api;
        try
        {
            // The admin's side: the site's origin data server, then the facility and its cache.
            await StartOriginAsync(client, ns, ct);
            await client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
            {
                Metadata = new V1ObjectMeta { Name = "journey-login" },
                StringData = new Dictionary<string, string> { ["password"] = LoginPassword },
            }, ns, cancellationToken: ct);
            await ApplyAsync<XCacheInstance>(api, CacheYaml(ns), ct);
            await ApplyAsync<FacilityResource>(api, FacilityYaml(ns, store), ct);

            // 1. Log in at the hub's public port (its configurable-http-proxy) and start the default profile.
            var hub = await WaitForHubAsync(node, ns, ct);
            using (var intruder = new HubBrowser(hub))
            {
                (await intruder.LoginAsync("mallory@example.org", "guess", ct)).Should().NotBeNull("a wrong password is refused at the login page");
            }
            using var alice = new HubBrowser(hub);
            (await alice.LoginAsync(MappedUser, LoginPassword, ct)).Should().BeNull("the login admits the user");
            (await alice.ProfilesAsync(ct)).Should().Equal("default", "large");
            (await alice.DefaultProfileAsync(ct)).Should().Be("default", "the form preselects the facility's default profile");
            await alice.SpawnAsync("default", ct);

            // 2-3. The hub's spawner made the UserSession; the notebook answers through the proxy with the user's cookie.
            var api1 = await alice.WaitForServerAsync(MappedUser, Patience, ct);
            api1.Should().Contain("\"version\"");
            (await alice.ServerActiveAsync(ct)).Should().BeTrue("the hub shows the server as running");
            var sessionName = SessionNames.ForUser(MappedUser);
            var session = await ReadSessionAsync(client, ns, sessionName, ct);
            session.Should().NotBeNull("the hub's spawner creates the UserSession");
            session!.Spec.HubEnvSecretName.Should().NotBeNullOrEmpty();
            var pod = SessionNames.Server(sessionName);

            // 4a. WLCG Bearer Token Discovery finds the user's token, and it verifies with the JWKS at its issuer URL.
            var issuerTrust = await IssuerTrustAsync(client, ns, ct);
            var token = await InNotebookAsync(node, ns, pod, ["python3", "-c", TokenCheckScript, issuerTrust], ct);
            var claims = JsonNode.Parse(token)!.AsObject();
            claims["iss"]!.GetValue<string>().Should().Be(LocalFacilityOperator.IssuerUrl(FacilityName));
            claims["scope"]!.GetValue<string>().Should().Contain($"storage.create:/store/user/{MappedStore}");

            // 4b. Client() with no arguments reaches the user's own Dask cluster over TLS and computes on its workers.
            var dask = await InNotebookAsync(node, ns, pod, ["python3", "-c", DaskScript], ct, TimeSpan.FromMinutes(3));
            dask.Should().Contain("tls://").And.Contain("result 42");

            // 4c. The facility XCache returns the origin's file with the session token, and refuses a reader without one.
            var read = await InNotebookAsync(node, ns, pod, ["sh", "-c", $"xrdcp --nopbar -f \"$XCACHE_ENDPOINT/{OriginFile}\" - "], ct, TimeSpan.FromMinutes(2));
            read.Should().Contain(OriginContent);
            var anonymous = await node.ExecAsync(ns, pod, SessionBuilder.NotebookContainer,
                ["sh", "-c", $"env -u BEARER_TOKEN_FILE -u BEARER_TOKEN XDG_RUNTIME_DIR=/nonexistent xrdcp --nopbar -f \"$XCACHE_ENDPOINT/{OriginFile}\" - "],
                TimeSpan.FromMinutes(1), ct);
            anonymous.ExitCode.Should().NotBe(0, $"no token, no data: {anonymous.Stdout}{anonymous.Stderr}");
            anonymous.Stdout.Should().NotContain(OriginContent);

            // 4d. A file written to the store lands in the user's directory of the site storage, with BindFS's mapping.
            var written = await InNotebookAsync(node, ns, pod,
                ["sh", "-c", "echo from-the-notebook > \"$ANALYSISFACILITY_STORE/result.txt\" && stat -c '%u %g' \"$ANALYSISFACILITY_STORE/result.txt\""], ct);
            written.Trim().Should().Be("1000 100", "BindFS shows the store with the facility's forced owner and group");
            var landed = Path.Combine(store.Source, MappedStore, "result.txt");
            File.Exists(landed).Should().BeTrue("the write goes through BindFS into the user's directory under the facility's source path");
            (await File.ReadAllTextAsync(landed, ct)).Should().Be("from-the-notebook\n");

            // 4e. HTCondor client settings name the facility's collector and schedd, with a CA file that exists.
            var condor = await InNotebookAsync(node, ns, pod,
                ["sh", "-c", "echo \"$_condor_COLLECTOR_HOST|$_condor_SCHEDD_HOST|$_condor_SEC_DEFAULT_AUTHENTICATION_METHODS\" && test -s \"$_condor_AUTH_SSL_CLIENT_CAFILE\" && echo ca-present"], ct);
            condor.Should().Contain($"{FacilityName}-condor-cm.{ns}.svc:9618|").And.Contain("|SCITOKENS").And.Contain("ca-present");

            // A second user the store mapping does not know. First a profile the facility does not offer (a stale
            // bookmark, a hand-made form): the hub shows the reason from the session's condition, and nothing is left.
            using var bob = new HubBrowser(hub);
            (await bob.LoginAsync(UnmappedUser, LoginPassword, ct)).Should().BeNull();
            var refused = await SpawnFailureAsync(bob, UnmappedUser, "no-such-profile", ct);
            refused.Should().Contain("unknown profile 'no-such-profile'");
            await Eventually.TrueAsync(async () => await ReadSessionAsync(client, ns, SessionNames.ForUser(UnmappedUser), ct) is null,
                Patience, "the failed spawn's UserSession removed");

            // Then the default profile: the nobody directory, read-only.
            await bob.SpawnAsync("default", ct);
            await bob.WaitForServerAsync(UnmappedUser, Patience, ct);
            var bobPod = SessionNames.Server(SessionNames.ForUser(UnmappedUser));
            var bobWrite = await node.ExecAsync(ns, bobPod, SessionBuilder.NotebookContainer,
                ["sh", "-c", "echo x > \"$ANALYSISFACILITY_STORE/intruder.txt\""], TimeSpan.FromSeconds(30), ct);
            bobWrite.ExitCode.Should().NotBe(0, "the nobody directory is read-only");
            var bobView = await InNotebookAsync(node, ns, bobPod, ["sh", "-c", "ls -A \"$ANALYSISFACILITY_STORE\"; grep \" $ANALYSISFACILITY_STORE \" /proc/mounts"], ct);
            bobView.Should().NotContain("result.txt", "another user's files are not visible").And.Contain(" ro,");

            // The hub restarts (a new hub pod, its proxy with it): running servers are found again and answer.
            var hubPods = await client.CoreV1.ListNamespacedPodAsync(ns, labelSelector: "app.kubernetes.io/component=hub", cancellationToken: ct);
            var oldHub = hubPods.Items.Single(p => p.Metadata.Name.StartsWith($"{FacilityName}-hub-", StringComparison.Ordinal));
            await client.CoreV1.DeleteNamespacedPodAsync(oldHub.Metadata.Name, ns, cancellationToken: ct);
            await Pods.WaitGoneAsync(client, ns, oldHub.Metadata.Name, Patience);
            await WaitForHubAsync(node, ns, ct);
            (await alice.WaitForServerAsync(MappedUser, Patience, ct)).Should().Contain("\"version\"", "the new hub finds the running server and routes to it");
            (await alice.ServerActiveAsync(ct)).Should().BeTrue("the login cookie survives the hub restart and the server is still the user's");
            (await ReadSessionAsync(client, ns, sessionName, ct))!.Metadata.Uid.Should().Be(session.Metadata.Uid, "the hub restart did not replace the session");

            // 5. Stopping the server from the hub deletes the session and its pod; the store data stays.
            await alice.StopAsync(MappedUser, ct);
            await Eventually.TrueAsync(async () => await ReadSessionAsync(client, ns, sessionName, ct) is null, Patience, "the stopped user's UserSession deleted");
            await Pods.WaitGoneAsync(client, ns, pod, Patience);
            (await alice.ServerActiveAsync(ct)).Should().BeFalse();
            File.Exists(landed).Should().BeTrue("stopping a server never deletes the user's store data");

            // A session past its ttl is stopped by the operator, and the hub notices (its spawner's poll).
            var bobSession = SessionNames.ForUser(UnmappedUser);
            await client.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("{\"spec\":{\"ttl\":\"1s\"}}", V1Patch.PatchType.MergePatch),
                "analysisfacility.io", "v1alpha1", ns, "usersessions", bobSession, cancellationToken: ct);
            await Eventually.TrueAsync(async () => await ReadSessionAsync(client, ns, bobSession, ct) is null, Patience, "the expired session deleted by the operator");
            await Eventually.TrueAsync(async () => !await bob.ServerActiveAsync(ct), TimeSpan.FromSeconds(90), "the hub shows the expired server as stopped");
        }
        finally
        {
            await client.CoreV1.DeleteNamespaceAsync(ns, cancellationToken: CancellationToken.None);
            await Eventually.TrueAsync(async () => (await client.CoreV1.ListNamespacedPodAsync(ns)).Items.Count == 0, TimeSpan.FromMinutes(2), "journey pods gone");
            await RemoveSiteStorageAsync(store);
        }
    }

    /// <summary>Submits the spawn form and returns what the hub shows for the failed start.</summary>
    private static async Task<string> SpawnFailureAsync(HubBrowser browser, string user, string profile, CancellationToken ct)
    {
        try
        {
            await browser.SpawnAsync(profile, ct);
            await browser.WaitForServerAsync(user, Patience, ct);
        }
        catch (InvalidOperationException e)
        {
            return e.Message;
        }
        throw new InvalidOperationException($"a spawn with profile {profile} started a server");
    }

    private sealed record SiteStorage(string Root, string Source, string Target);

    /// <summary>
    /// The site's storage this test's facility maps, under the node slot this run holds (so a run in another checkout
    /// is never touched), cleared of anything an earlier crashed run of the slot left: its mounts first.
    /// </summary>
    private static async Task<SiteStorage> PrepareSiteStorageAsync(int slot, string ns)
    {
        var slotRoot = Path.Combine(StoreRoot, $"slot-{slot}");
        await RemoveUnmountedAsync(slotRoot);
        var root = Path.Combine(slotRoot, ns);
        var storage = new SiteStorage(root, Path.Combine(root, "source"), Path.Combine(root, "target"));
        Directory.CreateDirectory(storage.Source);
        return storage;
    }

    private static Task RemoveSiteStorageAsync(SiteStorage storage) => RemoveUnmountedAsync(storage.Root);

    /// <summary>Unmounts what is mounted below <paramref name="root"/> (the node's own lookup), then removes it, never through a live mount.</summary>
    private static async Task RemoveUnmountedAsync(string root)
    {
        foreach (var mount in NodeSlot.MountsUnder(root).Reverse()) await HostCommands.TryRunAsync("umount", ["-R", "-l", mount]);
        if (!NodeSlot.MountsUnder(root).Any() && Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    /// <summary>A command in the notebook container, as `kubectl exec` runs it; its output, failing on a non-zero exit.</summary>
    private static async Task<string> InNotebookAsync(AnalysisFacility.LocalCluster.Node.LocalNode node, string ns, string pod, IReadOnlyList<string> command, CancellationToken ct, TimeSpan? timeout = null)
    {
        var result = await node.ExecAsync(ns, pod, SessionBuilder.NotebookContainer, command, timeout ?? TimeSpan.FromSeconds(60), ct);
        result.ExitCode.Should().Be(0, $"`{string.Join(' ', command.Take(2))}` in the notebook: {result.Stdout}\n{result.Stderr}");
        return result.Stdout;
    }

    private static async Task<UserSession?> ReadSessionAsync(Kubernetes client, string ns, string name, CancellationToken ct)
    {
        try
        {
            var raw = await client.CustomObjects.GetNamespacedCustomObjectAsync("analysisfacility.io", "v1alpha1", ns, "usersessions", name, ct);
            return ApiJson.Decode<UserSession>(ApiJson.Serialize(raw));
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private static async Task ApplyAsync<T>(KubernetesApi api, string yaml, CancellationToken ct) =>
        await api.ApplyAsync(api.Types.For<T>(), YamlDocuments.Parse(yaml)[0], "journey-admin", force: true, ct);

    /// <summary>The hub answers its login page through the hub Service (the proxy sidecar's public port).</summary>
    private static async Task<Uri> WaitForHubAsync(AnalysisFacility.LocalCluster.Node.LocalNode node, string ns, CancellationToken ct)
    {
        var journey = new DevJourney(ns, FacilityName, MappedUser);
        Uri? hub = null;
        await Eventually.TrueAsync(async () =>
        {
            hub = journey.HubUrl(node);
            if (hub is null) return false;
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            try
            {
                return (await http.GetAsync(new Uri(hub, "hub/login"), ct)).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                return false;
            }
        }, Patience, "the hub's login page through its Service");
        return hub!;
    }

    /// <summary>The issuer trust the facility publishes (what a site's clients would have as a public CA).</summary>
    private static async Task<string> IssuerTrustAsync(Kubernetes client, string ns, CancellationToken ct)
    {
        var configMap = await client.CoreV1.ReadNamespacedConfigMapAsync($"{FacilityName}-issuer-ca", ns, cancellationToken: ct);
        return configMap.Data["ca.crt"];
    }

    /// <summary>
    /// The site's origin: an xrootd data server holding a file under /store, running as nobody. (The site's own
    /// server, not something the operator makes; its configuration is the test's, as a site's would be its own.)
    /// </summary>
    private static async Task StartOriginAsync(Kubernetes client, string ns, CancellationToken ct)
    {
        var labels = new Dictionary<string, string> { ["app"] = "origin" };
        await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new V1ObjectMeta { Name = "origin" },
            Data = new Dictionary<string, string>
            {
                ["xrootd.cfg"] = """
                    all.export /store
                    oss.localroot /srv/origin/data
                    all.adminpath /srv/origin/admin
                    all.pidpath /srv/origin/admin
                    xrd.port 1094
                    """,
            },
        }, ns, cancellationToken: ct);
        var dir = Path.GetDirectoryName(OriginFile)!;
        await client.CoreV1.CreateNamespacedPodAsync(new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "origin", Labels = labels },
            Spec = new V1PodSpec
            {
                SecurityContext = new V1PodSecurityContext { RunAsUser = 65534, RunAsGroup = 65534, FsGroup = 65534 },
                Containers =
                [
                    new V1Container
                    {
                        Name = "xrootd", Image = "opensciencegrid/xrootd-standalone:23-release",
                        Command = ["sh", "-c", $"mkdir -p /srv/origin/admin /srv/origin/data{dir} && printf '{OriginContent}' > /srv/origin/data{OriginFile} && exec xrootd -c /etc/origin/xrootd.cfg"],
                        Ports = [new V1ContainerPort { Name = "xroot", ContainerPort = 1094 }],
                        ReadinessProbe = new V1Probe { TcpSocket = new V1TCPSocketAction { Port = "xroot" }, PeriodSeconds = 1 },
                        VolumeMounts =
                        [
                            new V1VolumeMount { Name = "config", MountPath = "/etc/origin" },
                            new V1VolumeMount { Name = "data", MountPath = "/srv/origin" },
                        ],
                    },
                ],
                Volumes =
                [
                    new V1Volume { Name = "config", ConfigMap = new V1ConfigMapVolumeSource { Name = "origin" } },
                    new V1Volume { Name = "data", EmptyDir = new V1EmptyDirVolumeSource() },
                ],
            },
        }, ns, cancellationToken: ct);
        await client.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = "origin" },
            Spec = new V1ServiceSpec { Selector = labels, Ports = [new V1ServicePort { Name = "xroot", Port = 1094, TargetPort = 1094 }] },
        }, ns, cancellationToken: ct);
    }

    private static string CacheYaml(string ns) => $"""
        apiVersion: analysisfacility.io/v1alpha1
        kind: XCacheInstance
        metadata: {'{'}name: {CacheName}, namespace: {ns}{'}'}
        spec:
          replicas: 1
          image: opensciencegrid/xcache:23-release
          origin: root://origin.{ns}.svc.cluster.local:1094
          exportedPaths: [/store]
          cacheSize: 1Gi
          ram: 1g
          authorization:
            facilityRef: {FacilityName}
            basePath: /
        """;

    private static string FacilityYaml(string ns, SiteStorage store) => $"""
        apiVersion: analysisfacility.io/v1alpha1
        kind: AnalysisFacility
        metadata: {'{'}name: {FacilityName}, namespace: {ns}{'}'}
        spec:
          domain: journey.example.org
          hub:
            enabled: true
            authentication: {'{'}type: dummy, dummyPasswordSecretRef: {'{'}name: journey-login, key: password{'}'}{'}'}
            profiles:
              - {'{'}name: default, displayName: Default, image: coffeateam/coffea-casa-analysis:latest, cores: "1", memory: 2Gi, default: true{'}'}
              - {'{'}name: large, displayName: Large, image: coffeateam/coffea-casa-analysis:latest, cores: "2", memory: 4Gi{'}'}
          tokens:
            issuer: {LocalFacilityOperator.IssuerUrl(FacilityName)}
            lifetime: 1h
            audiences: [https://xcache.journey.example.org]
          htcondor:
            enabled: true
            execute: {'{'}replicas: 1, resources: {'{'}cpu: "1", memory: 2Gi{'}'}{'}'}
          serviceX: {'{'}enabled: false{'}'}
          triton: {'{'}enabled: false{'}'}
          mlflow: {'{'}enabled: false{'}'}
          userStore:
            enabled: true
            sourcePath: {store.Source}
            targetPath: {store.Target}
            ownership: {'{'}forceUser: "1000", forceGroup: "100", perms: "u=rwX:g=rwX:o=rX"{'}'}
            capacity: 10Gi
            claimName: {FacilityName}-store
            mountPath: /mnt/data
            nobodyDirectory: nobody
            users:
              - {'{'}user: {MappedUser}, storeName: {MappedStore}{'}'}
          xcache: {'{'}name: {CacheName}{'}'}
          dask:
            workerCores: "1"
            workerMemory: 1Gi
            sessions: {'{'}enabled: true, minimum: 1, maximum: 2{'}'}
        """;

    /// <summary>
    /// WLCG Bearer Token Discovery (BEARER_TOKEN, BEARER_TOKEN_FILE, $XDG_RUNTIME_DIR/bt_u$UID, /tmp/bt_u$UID), then
    /// the ES256 signature checked with the key the issuer's discovery document points at. Prints the claims.
    /// </summary>
    private const string TokenCheckScript = """
        import base64, json, os, ssl, sys, urllib.request
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, utils
        def discover():
            if os.environ.get("BEARER_TOKEN"):
                return os.environ["BEARER_TOKEN"]
            uid = os.geteuid()
            for path in (os.environ.get("BEARER_TOKEN_FILE"), os.path.join(os.environ.get("XDG_RUNTIME_DIR", "/nonexistent"), f"bt_u{uid}"), f"/tmp/bt_u{uid}"):
                if path and os.path.isfile(path):
                    return open(path).read()
            sys.exit("WLCG discovery found no token")
        token = discover().strip()
        head, body, signature = token.split(".")
        b64 = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
        header, claims = json.loads(b64(head)), json.loads(b64(body))
        trust = ssl.create_default_context(cadata=sys.argv[1])
        config = json.load(urllib.request.urlopen(claims["iss"] + "/.well-known/openid-configuration", context=trust))
        keys = json.load(urllib.request.urlopen(config["jwks_uri"], context=trust))["keys"]
        jwk = next(k for k in keys if k["kid"] == header["kid"])
        public = ec.EllipticCurvePublicNumbers(int.from_bytes(b64(jwk["x"]), "big"), int.from_bytes(b64(jwk["y"]), "big"), ec.SECP256R1()).public_key()
        raw = b64(signature)
        public.verify(utils.encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
                      f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
        print(json.dumps(claims))
        """;

    /// <summary>What a physicist types first: Client() with no arguments, then work on the cluster's workers.</summary>
    private const string DaskScript = """
        from dask.distributed import Client
        client = Client(timeout="60s")
        print("scheduler", client.scheduler.address)
        client.wait_for_workers(1, timeout=150)
        print("result", client.submit(lambda x: x * 2, 21).result(timeout=60))
        """;
}
