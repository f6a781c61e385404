using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Builders.Certificates;
using AnalysisFacility.Operator.Builders.Facility;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.Operator.Hosting;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.Runtime.Client;
using k8s;
using Serilog;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.IntegrationTests.Delivery;

/// <summary>
/// deploy/operator and deploy/samples against a real kube-apiserver 1.20: the install renders with kubectl 1.20's
/// kustomize and passes server-side dry run; the shipped RBAC, bound for real, lets the operator's ServiceAccount do
/// everything the controllers do (checked per verb and with real calls, including the whole sample facility and
/// leader election) and refuses writes outside it.
/// </summary>
[Collection(ControlPlaneCollection.Name)]
public sealed class InstallManifestTests(ControlPlaneFixture fixture)
{
    private const string OperatorNamespace = "analysisfacility-system";
    private const string ServiceAccount = "analysisfacility-operator";
    private static readonly ResourceType AccessReview = new("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", Namespaced: false);

    private Kubectl Admin => new(fixture.Plane.KubeconfigPath);

    [Fact]
    public async Task Install_and_every_sample_pass_server_side_dry_run()
    {
        var rendered = await Admin.KustomizeAsync("deploy/operator");
        var documents = Kubectl.Documents(rendered);
        documents.Select(Kubectl.KindOf).Should().BeEquivalentTo(
            ["CustomResourceDefinition", "CustomResourceDefinition", "CustomResourceDefinition", "CustomResourceDefinition", "Namespace",
             "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "Service", "Service"]);
        await InstallRbacAsync(rendered); // namespaced objects can only be dry-run in an existing namespace

        var install = await Admin.RunAsync(["apply", "--server-side", "--force-conflicts", "--dry-run=server", "-f", "-"], rendered);
        install.ExitCode.Should().Be(0, install.Error);
        install.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.EndsWith("(server dry run)", StringComparison.Ordinal))
            .Should().HaveCount(documents.Count, install.Output);
        install.Output.Should().Contain("deployment.apps/analysisfacility-operator serverside-applied (server dry run)");

        // The samples as Flux applies them: the namespace first, then every resource, validated by our CRDs' schemas.
        var ns = await Admin.RunAsync(["apply", "--server-side", "-f", "deploy/samples/namespace.yaml"]);
        ns.ExitCode.Should().Be(0, ns.Error);
        var samples = await Admin.RunAsync(["apply", "--server-side", "--dry-run=server", "-f", "deploy/samples/"]);
        samples.ExitCode.Should().Be(0, samples.Error);
        foreach (var expected in new[]
                 {
                     "analysisfacility.analysisfacility.io/cms-af", "xcacheinstance.analysisfacility.io/cms-xcache",
                     "daskcluster.analysisfacility.io/ttbar-analysis", "usersession.analysisfacility.io/oksana-shadura",
                     "usersession.analysisfacility.io/sam-albin",
                 })
        {
            samples.Output.Should().Contain(expected + " serverside-applied (server dry run)");
        }

        // The dry run really validates: the same XCache sample with an http:// origin is refused by the schema.
        var broken = File.ReadAllText(Path.Combine(Kubectl.RepositoryRoot, "deploy/samples/xcache.yaml"))
            .Replace("origin: root://cmsxrootd.fnal.gov:1094", "origin: http://cmsxrootd.fnal.gov", StringComparison.Ordinal);
        var refused = await Admin.RunAsync(["apply", "--server-side", "--dry-run=server", "-f", "-"], broken);
        refused.ExitCode.Should().NotBe(0);
        refused.Error.Should().Contain("spec.origin");
    }

    [Fact]
    public async Task Operator_service_account_can_do_what_the_controllers_do_and_nothing_outside_its_rules()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var ct = cts.Token;
        await InstallRbacAsync(await Admin.KustomizeAsync("deploy/operator"));
        var token = await ServiceAccountTokenAsync(ct);
        using var operatorApi = new KubernetesApi(fixture.Plane.ConfigurationForToken(token), ApiJson.Options);
        operatorApi.Types.Register(AccessReview);
        var ns = await fixture.CreateNamespaceAsync("delivery", ct);

        // 1. Every verb on every kind the controllers use (what they need, written down independently of the manifests).
        var all = new[] { "get", "list", "watch", "create", "update", "patch", "delete" };
        var needs = new List<(string Group, string Resource, string? Namespace, string[] Verbs)>
        {
            ("analysisfacility.io", "analysisfacilities", ns, ["get", "list", "watch", "update", "patch"]),
            ("analysisfacility.io", "xcacheinstances", ns, ["get", "list", "watch", "update", "patch"]),
            ("analysisfacility.io", "usersessions", ns, all),
            ("analysisfacility.io", "daskclusters", ns, all),
            ("", "pods", ns, ["get", "list", "watch", "create", "delete", "patch"]),
            ("", "services", ns, all), ("", "configmaps", ns, all), ("", "secrets", ns, all), ("", "serviceaccounts", ns, all),
            ("", "persistentvolumeclaims", ns, all), ("", "persistentvolumes", null, all),
            ("", "events", ns, ["create", "patch"]),
            ("apps", "deployments", ns, all), ("apps", "statefulsets", ns, all), ("apps", "daemonsets", ns, all),
            ("networking.k8s.io", "ingresses", ns, all), ("networking.k8s.io", "networkpolicies", ns, all),
            ("rbac.authorization.k8s.io", "roles", ns, all), ("rbac.authorization.k8s.io", "rolebindings", ns, all),
            ("traefik.io", "ingressroutetcps", ns, all),
            ("apiextensions.k8s.io", "customresourcedefinitions", null, ["get", "list"]),
            ("coordination.k8s.io", "leases", OperatorNamespace, ["get", "create", "update"]),
        };
        foreach (var kind in new[] { "analysisfacilities", "usersessions", "daskclusters", "xcacheinstances" })
        {
            needs.Add(("analysisfacility.io", kind + "/status", ns, ["get", "update", "patch"]));
            needs.Add(("analysisfacility.io", kind + "/finalizers", ns, ["update"]));
        }
        var denied = new List<string>();
        foreach (var (group, resource, inNamespace, verbs) in needs)
        {
            foreach (var verb in verbs)
            {
                if (!await AllowedAsync(operatorApi, verb, group, resource, inNamespace, ct)) denied.Add($"{verb} {resource}.{group} in {inNamespace ?? "cluster"}");
            }
        }
        denied.Should().BeEmpty("the shipped RBAC must cover what the controllers do");

        // 2. Real calls: the whole sample facility, as the facility builder makes it, applied by the operator's account
        //    (server-side dry run, so nothing starts), including the hub Role that grants UserSession rights (RBAC
        //    escalation check) and the cluster-scoped store PersistentVolume.
        var facility = YamlDocuments.Single<FacilityResource>(File.ReadAllText(Path.Combine(Kubectl.RepositoryRoot, "deploy/samples/facility.yaml")), ApiJson.Options);
        facility.Metadata.NamespaceProperty = ns;
        var built = FacilityBuilder.Build(facility, new FacilityContext
        {
            IssuerServiceHost = new OperatorSettings().IssuerServiceHost,
            CondorTls = HTCondorTls.Ensure(null, FacilityCertificateAuthority.Ensure(null, facility.Metadata.Name, DateTimeOffset.UtcNow).Data, facility, DateTimeOffset.UtcNow).Data,
        });
        built.Errors.Should().BeEmpty();
        var objects = built.Objects.ToList();
        objects.Select(o => o.Kind).Should().Contain(["Deployment", "StatefulSet", "DaemonSet", "PersistentVolume", "PersistentVolumeClaim", "Role", "RoleBinding", "Ingress", "Secret"]);
        foreach (var rbacObject in objects.Where(o => o.Kind is "Role" or "RoleBinding"))
        {
            // For real first (a RoleBinding dry run needs its Role to exist): creating the hub's Role is allowed only because
            // the operator holds every right it grants, and binding it only because it holds the Role's rights.
            var json = JsonNode.Parse(ApiJson.Serialize(rbacObject))!.AsObject();
            await operatorApi.ApplyAsync(operatorApi.Types.ForKind(rbacObject.ApiVersion, rbacObject.Kind), json, "analysisfacility-operator", force: true, ct);
        }
        var kubeconfig = await WriteKubeconfigAsync(token);
        try
        {
            var asOperator = new Kubectl(kubeconfig);
            // StatefulSet persistentVolumeClaimRetentionPolicy is a 1.23 field: server-side apply on 1.20 refuses it
            // ("field not declared in schema"), reported to the facility builder's owner. This step is about authorization.
            foreach (var statefulSet in objects.OfType<k8s.Models.V1StatefulSet>()) statefulSet.Spec.PersistentVolumeClaimRetentionPolicy = null;
            // JSON, as the operator sends it (YAML would turn quantities like "4" into integers).
            var manifest = new JsonObject
            {
                ["apiVersion"] = "v1", ["kind"] = "List",
                ["items"] = new JsonArray(objects.Select(o => (JsonNode)JsonNode.Parse(ApiJson.Serialize(o))!).ToArray()),
            }.ToJsonString();
            var dryRun = await asOperator.RunAsync(["apply", "--server-side", "--field-manager=analysisfacility-operator", "--dry-run=server", "-f", "-"], manifest, ct);
            dryRun.ExitCode.Should().Be(0, dryRun.Error);
            dryRun.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(objects.Count);
        }
        finally
        {
            File.Delete(kubeconfig);
        }
        var pod = await operatorApi.CreateAsync(operatorApi.Types.For<k8s.Models.V1Pod>(), new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Pod", ["metadata"] = new JsonObject { ["name"] = "session-probe", ["namespace"] = ns },
            ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "c", ["image"] = "busybox" }) },
        }, ct);
        (await operatorApi.DeleteAsync(operatorApi.Types.For<k8s.Models.V1Pod>(), ns, "session-probe", ct)).Should().BeTrue();

        // 3. The operator itself, running as its ServiceAccount, syncs its caches and wins the Lease in its namespace.
        await RunOperatorAsLeaderAsync(token, ct);

        // 4. Refused: everything outside the rules, including escalation through a Role it may create.
        var refusals = new List<(string What, Func<Task> Call)>
        {
            ("create a ClusterRoleBinding to cluster-admin", () => operatorApi.CreateAsync(operatorApi.Types.For<k8s.Models.V1ClusterRoleBinding>(), new JsonObject
            {
                ["apiVersion"] = "rbac.authorization.k8s.io/v1", ["kind"] = "ClusterRoleBinding", ["metadata"] = new JsonObject { ["name"] = "af-escalate" },
                ["roleRef"] = new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "ClusterRole", ["name"] = "cluster-admin" },
                ["subjects"] = new JsonArray(new JsonObject { ["kind"] = "ServiceAccount", ["name"] = ServiceAccount, ["namespace"] = OperatorNamespace }),
            }, ct)),
            ("create a ClusterRole", () => operatorApi.CreateAsync(operatorApi.Types.For<k8s.Models.V1ClusterRole>(), new JsonObject
            {
                ["apiVersion"] = "rbac.authorization.k8s.io/v1", ["kind"] = "ClusterRole", ["metadata"] = new JsonObject { ["name"] = "af-wider" }, ["rules"] = new JsonArray(),
            }, ct)),
            ("create a Role granting pods/exec (escalation)", () => operatorApi.CreateAsync(operatorApi.Types.For<k8s.Models.V1Role>(), new JsonObject
            {
                ["apiVersion"] = "rbac.authorization.k8s.io/v1", ["kind"] = "Role", ["metadata"] = new JsonObject { ["name"] = "af-exec", ["namespace"] = ns },
                ["rules"] = new JsonArray(new JsonObject { ["apiGroups"] = new JsonArray(""), ["resources"] = new JsonArray("pods/exec"), ["verbs"] = new JsonArray("create") }),
            }, ct)),
            ("create a Namespace", () => operatorApi.CreateAsync(operatorApi.Types.For<k8s.Models.V1Namespace>(), new JsonObject
            {
                ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = "af-not-allowed" },
            }, ct)),
            ("delete a Node", () => operatorApi.DeleteAsync(operatorApi.Types.For<k8s.Models.V1Node>(), null, "node-1", ct)),
            ("create a Lease outside the operator namespace", () => operatorApi.CreateAsync(operatorApi.Types.For<k8s.Models.V1Lease>(), new JsonObject
            {
                ["apiVersion"] = "coordination.k8s.io/v1", ["kind"] = "Lease", ["metadata"] = new JsonObject { ["name"] = "af-lease", ["namespace"] = ns },
            }, ct)),
            ("delete an AnalysisFacility (admins own them)", () => operatorApi.DeleteAsync(operatorApi.Types.For<FacilityResource>(), ns, "cms-af", ct)),
        };
        foreach (var (what, call) in refusals)
        {
            var attempt = () => call();
            (await attempt.Should().ThrowAsync<KubernetesApiException>(what)).Which.StatusCode.Should().Be(HttpStatusCode.Forbidden, what);
        }
        (await AllowedAsync(operatorApi, "create", "", "pods/exec", ns, ct)).Should().BeFalse("no exec into user sessions");
        (await AllowedAsync(operatorApi, "list", "", "nodes", null, ct)).Should().BeFalse();
        (await AllowedAsync(operatorApi, "update", "", "pods", ns, ct)).Should().BeFalse("pods are replaced, never updated");
        (await AllowedAsync(operatorApi, "create", "admissionregistration.k8s.io", "validatingwebhookconfigurations", null, ct)).Should().BeFalse();
    }

    /// <summary>Applies the namespace, ServiceAccount and RBAC objects of the rendered install for real (idempotent).</summary>
    private async Task InstallRbacAsync(string rendered)
    {
        var rbac = Kubectl.Documents(rendered)
            .Where(d => Kubectl.KindOf(d) is "Namespace" or "ServiceAccount" or "ClusterRole" or "ClusterRoleBinding" or "Role" or "RoleBinding");
        var result = await Admin.RunAsync(["apply", "--server-side", "--force-conflicts", "-f", "-"], string.Join("\n---\n", rbac));
        result.ExitCode.Should().Be(0, result.Error);
    }

    /// <summary>The token Kubernetes 1.20's token controller puts in a Secret for the ServiceAccount.</summary>
    private async Task<string> ServiceAccountTokenAsync(CancellationToken ct)
    {
        string? token = null;
        await Eventually.TrueAsync(async () =>
        {
            var secrets = await fixture.Api.ListAsync(fixture.Api.Types.For<k8s.Models.V1Secret>(), OperatorNamespace, null, 100, null, ct);
            var secret = secrets.Items.FirstOrDefault(s => (string?)s["type"] == "kubernetes.io/service-account-token"
                && (string?)s["metadata"]!["annotations"]?["kubernetes.io/service-account.name"] == ServiceAccount && s["data"]?["token"] is not null);
            if (secret is not null) token = Encoding.UTF8.GetString(Convert.FromBase64String((string)secret["data"]!["token"]!));
            return token is not null;
        }, TimeSpan.FromSeconds(60), "the ServiceAccount token Secret");
        return token!;
    }

    private static async Task<bool> AllowedAsync(KubernetesApi api, string verb, string group, string resource, string? ns, CancellationToken ct)
    {
        var parts = resource.Split('/');
        var attributes = new JsonObject { ["verb"] = verb, ["group"] = group, ["resource"] = parts[0] };
        if (parts.Length > 1) attributes["subresource"] = parts[1];
        if (ns is not null) attributes["namespace"] = ns;
        var review = await api.CreateAsync(AccessReview, new JsonObject
        {
            ["apiVersion"] = "authorization.k8s.io/v1", ["kind"] = "SelfSubjectAccessReview",
            ["spec"] = new JsonObject { ["resourceAttributes"] = attributes },
        }, ct);
        return review["status"]?["allowed"]?.GetValue<bool>() == true;
    }

    private async Task RunOperatorAsLeaderAsync(string token, CancellationToken ct)
    {
        var identity = "delivery-test-" + Guid.NewGuid().ToString("N")[..8];
        var options = new OperatorHostOptions
        {
            Settings = new OperatorSettings { OperatorNamespace = OperatorNamespace },
            LeaderElection = true, Identity = identity, ListenAddress = IPAddress.Loopback, HttpPort = 0, IssuerPort = 0,
        };
        var log = new LoggerConfiguration().MinimumLevel.Warning().WriteTo.Console().CreateLogger();
        await using var host = new OperatorHost(fixture.Plane.ConfigurationForToken(token), options, log);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var run = Task.Run(() => host.RunAsync(stop.Token), CancellationToken.None);
        try
        {
            // The Lease itself is the evidence (IsLeader reads true before election starts when nothing is known yet).
            string? holder = null;
            await Eventually.TrueAsync(async () =>
            {
                if (run.IsFaulted) return true;
                var lease = await fixture.Api.GetAsync(fixture.Api.Types.For<k8s.Models.V1Lease>(), OperatorNamespace, "analysisfacility-operator", ct);
                holder = (string?)lease?["spec"]?["holderIdentity"];
                return holder == identity;
            }, TimeSpan.FromSeconds(60), "operator running as its ServiceAccount holds the lease");
            if (run.IsFaulted) await run;
            host.Manager.IsReady.Should().Be(host.Manager.Caches.All.Any(), "every informer the controllers registered listed and watched as the ServiceAccount");
            host.HttpEndpoint.Should().NotBeNull();
        }
        finally
        {
            await stop.CancelAsync();
            try
            {
                await run.WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
            }
            catch (OperationCanceledException)
            {
                // stopped
            }
        }
    }

    private async Task<string> WriteKubeconfigAsync(string token)
    {
        var path = Path.Combine(Path.GetTempPath(), $"af-operator-sa-{Guid.NewGuid():N}.kubeconfig");
        await File.WriteAllTextAsync(path, $"""
            apiVersion: v1
            kind: Config
            clusters: [{"{"}name: test, cluster: {"{"}server: "{fixture.Plane.Server}", insecure-skip-tls-verify: true{"}"}{"}"}]
            users: [{"{"}name: operator, user: {"{"}token: "{token}"{"}"}{"}"}]
            contexts: [{"{"}name: test, context: {"{"}cluster: test, user: operator{"}"}{"}"}]
            current-context: test
            """);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }
}
