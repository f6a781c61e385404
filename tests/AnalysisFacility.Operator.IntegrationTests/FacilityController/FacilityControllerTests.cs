using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Builders.Facility;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.Operator.Controllers.Facility;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Runtime.Status;
using k8s;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.IntegrationTests.FacilityController;

/// <summary>The facility controller, running in the real operator against a real API server and kube-controller-manager.</summary>
[Collection(ControlPlaneCollection.Name)]
public sealed class FacilityControllerTests(ControlPlaneFixture fixture)
{
    private KubernetesApi Api => fixture.Api;

    private async Task<(string Ns, FacilityResource Facility)> CreateSampleAsync(string prefix)
    {
        var ns = await fixture.CreateNamespaceAsync(prefix);
        await FacilityKit.CreateReferencedSecretsAsync(Api, ns);
        var created = await FacilityKit.ApplyWithKubectlAsync(fixture, ns, FacilityKit.SampleYaml(ns));
        created.Spec.HTCondor.Execute.Replicas.Should().Be(4, "the sample's htcondor section reached the API server");
        return (ns, created);
    }

    private static IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Expected(FacilityResource facility) =>
        FacilityRendering.Render(facility, new RenderSet { Facilities = [facility] }, FacilityKit.HarnessSettings);

    private async Task WaitForAllObjectsAsync(FacilityResource facility)
    {
        var expected = Expected(facility);
        var missing = new List<string>();
        try
        {
            await Eventually.TrueAsync(async () =>
            {
                missing.Clear();
                foreach (var obj in expected)
                {
                    if (!await FacilityKit.ExistsAsync(Api, obj.ApiVersion, obj.Kind, obj.Metadata.NamespaceProperty, obj.Metadata.Name))
                        missing.Add($"{obj.Kind} {obj.Metadata.Name}");
                }
                return missing.Count == 0;
            }, TimeSpan.FromSeconds(60), "every rendered object of the facility exists");
        }
        catch (TimeoutException e)
        {
            var status = (await FacilityKit.GetAsync(Api, facility.Metadata.NamespaceProperty, facility.Metadata.Name))?.Status;
            var conditions = string.Join(" | ", status?.Conditions.Select(c => $"{c.Type}={c.Status} {c.Reason}: {c.Message}") ?? []);
            throw new TimeoutException($"{e.Message}; missing: {string.Join(", ", missing)}; conditions: {conditions}");
        }
    }

    [Fact]
    public async Task Sample_facility_reconciles_to_all_objects_becomes_ready_with_pods_serves_its_issuer_and_then_stays_quiet()
    {
        var (ns, facility) = await CreateSampleAsync("fac-full");
        await using var harness = await OperatorHarness.StartAsync(fixture, [ns]);
        await WaitForAllObjectsAsync(facility);

        var expected = Expected(facility);
        expected.Select(o => o.Kind).Distinct().Should().Contain(["Deployment", "StatefulSet", "DaemonSet", "Service", "Ingress", "ConfigMap",
            "Secret", "PersistentVolumeClaim", "PersistentVolume", "ServiceAccount", "Role", "RoleBinding"]);
        foreach (var obj in expected)
        {
            var live = (await FacilityKit.GetObjectAsync(Api, obj.ApiVersion, obj.Kind, obj.Metadata.NamespaceProperty, obj.Metadata.Name))!;
            var owners = live["metadata"]?["ownerReferences"]?.AsArray() ?? [];
            if (DataRetention.IsRetained(obj) || obj.Metadata.NamespaceProperty is null)
            {
                owners.Should().BeEmpty($"{obj.Kind} {obj.Metadata.Name} holds retained data or is cluster-scoped");
            }
            else
            {
                owners.Should().ContainSingle(o => o!["uid"]!.GetValue<string>() == facility.Metadata.Uid && o["controller"]!.GetValue<bool>(),
                    $"{obj.Kind} {obj.Metadata.Name} is owned by the facility");
            }
        }

        // The hub mounts the spawner module from the Builders assembly.
        var spawner = await FacilityKit.GetObjectAsync(Api, "v1", "ConfigMap", ns, FacilitySecrets.SpawnerConfigMapName(FacilityKit.Name));
        spawner!["data"]![FacilityPlanning.SpawnerModuleKey]!.GetValue<string>().Should().Be(FacilityPlanning.SpawnerModuleText).And.Contain("class");

        // Before any pod is ready: not Ready, one condition per enabled component.
        await FacilityKit.WaitForConditionAsync(Api, ns, FacilityPlanning.IssuerReadyCondition, "True", "Published");
        var status = (await FacilityKit.GetAsync(Api, ns))!.Status;
        status.Conditions.Select(c => c.Type).Should().Contain(["Ready", "IssuerReady", "HubReady", "HTCondorReady", "ServiceXReady",
            "TritonReady", "MlflowReady", "UserStoreReady"]);
        status.Conditions.Single(c => c.Type == "Ready").Status.Should().Be("False");
        status.Conditions.Single(c => c.Type == "HubReady").Status.Should().Be("False");
        status.Endpoints.Hub.Should().Be("https://cmsaf-jh.unl.edu");
        status.Endpoints.Issuer.Should().Be(facility.Spec.Tokens.Issuer);
        status.Endpoints.Collector.Should().Contain($".{ns}.svc:9618");
        status.ActiveKeyId.Should().NotBeNullOrEmpty();
        status.PublishedKeyIds.Should().Contain(status.ActiveKeyId!);

        // Readiness flows from pods to workloads to conditions.
        await FacilityKit.MarkReadyUntilFacilityReadyAsync(Api, ns);
        status = (await FacilityKit.GetAsync(Api, ns))!.Status;
        status.Phase.Should().Be("Ready");
        // The sample asks for the Rucio DID finder without its proxy: that one says so, and holds nothing back.
        var rucioFinder = status.Conditions.Single(c => c.Type == ServiceXBuilder.RucioFinderConditionType);
        (rucioFinder.Status, rucioFinder.Reason).Should().Be(("False", "MissingCredentials"));
        status.Conditions.Where(c => c.Type != ServiceXBuilder.RucioFinderConditionType).Should().OnlyContain(c => c.Status == "True");
        status.ObservedGeneration.Should().Be(facility.Metadata.Generation);

        // The operator's HTTPS issuer serves discovery and JWKS for the facility's issuer path.
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator };
        using var http = new HttpClient(handler) { BaseAddress = harness.Host.IssuerEndpoint };
        var discovery = await http.GetFromJsonAsync<JsonObject>($"{FacilityKit.IssuerPath(ns)}/.well-known/openid-configuration");
        discovery!["issuer"]!.GetValue<string>().Should().Be(facility.Spec.Tokens.Issuer);
        discovery["jwks_uri"]!.GetValue<string>().Should().Be(facility.Spec.Tokens.Issuer + "/jwks");
        var jwks = await http.GetFromJsonAsync<JsonObject>($"{FacilityKit.IssuerPath(ns)}/jwks");
        jwks!["keys"]!.AsArray().Select(k => k!["kid"]!.GetValue<string>()).Should().BeEquivalentTo(status.PublishedKeyIds);
        jwks.ToJsonString().Should().NotContain("\"d\"", "the JWKS holds public keys only");

        // Steady state: reconciling again (a resync is forced by touching an annotation) writes nothing.
        await harness.WaitForQuietAsync(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(60));
        await Api.PatchAsync(Api.Types.For<FacilityResource>(), ns, FacilityKit.Name, """{"metadata":{"annotations":{"test/poke":"1"}}}""", KubernetesApi.MergePatch, CancellationToken.None);
        var writes = new System.Collections.Concurrent.ConcurrentQueue<string>();
        void Record(string verb, string path)
        {
            if (verb is not "GET" and not "HEAD") writes.Enqueue($"{verb} {path}");
        }
        harness.Host.Api.Calls.CallMade += Record;
        var before = harness.Host.Api.Calls.Writes;
        await Task.Delay(TimeSpan.FromSeconds(6));
        harness.Host.Api.Calls.CallMade -= Record;
        harness.Host.Api.Calls.Writes.Should().Be(before, $"a facility that is up to date needs no writes, but made: {string.Join(", ", writes)}");
    }

    [Fact]
    public async Task A_child_deleted_or_edited_by_hand_is_put_back_and_an_image_change_rolls_the_deployment()
    {
        var (ns, facility) = await CreateSampleAsync("fac-heal");
        await using var harness = await OperatorHarness.StartAsync(fixture, [ns]);
        await WaitForAllObjectsAsync(facility);
        var names = new FacilityNames(FacilityKit.Name);

        var serviceUid = (await FacilityKit.GetObjectAsync(Api, "v1", "Service", ns, names.Hub))!["metadata"]!["uid"]!.GetValue<string>();
        await Api.DeleteAsync(Api.Types.For<V1Service>(), ns, names.Hub, CancellationToken.None);
        await Eventually.TrueAsync(async () => (await FacilityKit.GetObjectAsync(Api, "v1", "Service", ns, names.Hub))?["metadata"]?["uid"]?.GetValue<string>() is { } uid
            && uid != serviceUid, TimeSpan.FromSeconds(30), "the deleted hub Service is re-created");

        var original = (await FacilityKit.GetObjectAsync(Api, "v1", "ConfigMap", ns, names.HubConfig))!["data"]![HubBuilder.ConfigFileName]!.GetValue<string>();
        await Api.PatchAsync(Api.Types.For<V1ConfigMap>(), ns, names.HubConfig,
            new JsonObject { ["data"] = new JsonObject { [HubBuilder.ConfigFileName] = "c.JupyterHub.spawner_class = 'evil'" } }.ToJsonString(),
            KubernetesApi.MergePatch, CancellationToken.None);
        await Eventually.TrueAsync(async () => (await FacilityKit.GetObjectAsync(Api, "v1", "ConfigMap", ns, names.HubConfig))?["data"]?[HubBuilder.ConfigFileName]?.GetValue<string>() == original,
            TimeSpan.FromSeconds(30), "the hand-edited hub config is restored");

        await Api.PatchAsync(Api.Types.For<V1Deployment>(), ns, names.Execute, """{"spec":{"replicas":0}}""", KubernetesApi.MergePatch, CancellationToken.None);
        await Eventually.TrueAsync(async () => (await FacilityKit.GetObjectAsync(Api, "apps/v1", "Deployment", ns, names.Execute))?["spec"]?["replicas"]?.GetValue<int>() == 4,
            TimeSpan.FromSeconds(30), "the hand-scaled execute Deployment is back at the spec's replicas");

        await FacilityKit.PatchSpecAsync(Api, ns, new JsonObject { ["triton"] = new JsonObject { ["image"] = "nvcr.io/nvidia/tritonserver:24.09-py3" } });
        await Eventually.TrueAsync(async () =>
        {
            var deployment = await FacilityKit.GetObjectAsync(Api, "apps/v1", "Deployment", ns, names.Triton);
            return deployment?["spec"]?["template"]?["spec"]?["containers"]?[0]?["image"]?.GetValue<string>() == "nvcr.io/nvidia/tritonserver:24.09-py3";
        }, TimeSpan.FromSeconds(30), "the Triton Deployment's pod template carries the new image");
        await Eventually.TrueAsync(async () =>
        {
            var sets = await Api.ListAsync(Api.Types.For<V1ReplicaSet>(), ns, $"app.kubernetes.io/name=triton", 50, null, CancellationToken.None);
            return sets.Items.Any(s => s["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>() == "nvcr.io/nvidia/tritonserver:24.09-py3");
        }, TimeSpan.FromSeconds(30), "the Deployment controller rolls out a ReplicaSet with the new image");
        // Ready was False before the change too (no kubelet here), so wait for the status of generation 2 itself.
        await Eventually.TrueAsync(async () =>
        {
            var status = (await FacilityKit.GetAsync(Api, ns))!.Status;
            return status.ObservedGeneration == 2 && Conditions.Find(status.Conditions, "Ready")?.Status == Conditions.False;
        }, TimeSpan.FromSeconds(60), "the facility's status for generation 2, with the rollout not Ready yet");
    }

    [Fact]
    public async Task Disabling_a_component_removes_its_objects_and_deleting_the_facility_keeps_retained_data()
    {
        var (ns, facility) = await CreateSampleAsync("fac-prune");
        await using var harness = await OperatorHarness.StartAsync(fixture, [ns]);
        await WaitForAllObjectsAsync(facility);
        var names = new FacilityNames(FacilityKit.Name);
        var store = facility.Spec.UserStore;
        var volume = names.StoreVolume(ns);

        await FacilityKit.PatchSpecAsync(Api, ns, new JsonObject
        {
            ["userStore"] = new JsonObject { ["enabled"] = false },
            ["triton"] = new JsonObject { ["enabled"] = false },
        });
        await Eventually.TrueAsync(async () => !await FacilityKit.ExistsAsync(Api, "apps/v1", "DaemonSet", ns, names.Bindfs)
            && !await FacilityKit.ExistsAsync(Api, "apps/v1", "Deployment", ns, names.Triton)
            && !await FacilityKit.ExistsAsync(Api, "v1", "Service", ns, names.Triton),
            TimeSpan.FromSeconds(30), "objects of the disabled components are deleted");
        (await FacilityKit.ExistsAsync(Api, "v1", "PersistentVolumeClaim", ns, store.ClaimName)).Should().BeTrue("the user store claim holds user data");
        (await FacilityKit.ExistsAsync(Api, "v1", "PersistentVolume", null, volume)).Should().BeTrue("the store volume holds user data");
        await Eventually.TrueAsync(async () => (await FacilityKit.GetAsync(Api, ns))!.Status.Conditions.All(c => c.Type is not "TritonReady" and not "UserStoreReady"),
            TimeSpan.FromSeconds(30), "conditions of disabled components disappear");
        (await FacilityKit.ExistsAsync(Api, "apps/v1", "Deployment", ns, names.Hub)).Should().BeTrue("enabled components stay");

        // The schedd's spool claim, made by the StatefulSet controller, and the MLflow database claim are data too.
        await Eventually.TrueAsync(async () => (await Api.ListAsync(Api.Types.For<V1PersistentVolumeClaim>(), ns, null, 100, null, CancellationToken.None)).Items.Count >= 2,
            TimeSpan.FromSeconds(30), "StatefulSet claims are created");
        var claimsBefore = (await Api.ListAsync(Api.Types.For<V1PersistentVolumeClaim>(), ns, null, 100, null, CancellationToken.None)).Items
            .Select(i => i["metadata"]!["name"]!.GetValue<string>()).Where(n => n != names.HubDatabase).ToList();

        await Api.DeleteAsync(Api.Types.For<FacilityResource>(), ns, FacilityKit.Name, CancellationToken.None);
        await Eventually.TrueAsync(async () => await FacilityKit.GetAsync(Api, ns) is null, TimeSpan.FromSeconds(90), "the facility is finalized and gone");
        await Eventually.TrueAsync(async () => !await FacilityKit.ExistsAsync(Api, "apps/v1", "Deployment", ns, names.Hub)
            && !await FacilityKit.ExistsAsync(Api, "apps/v1", "StatefulSet", ns, names.Schedd)
            && !await FacilityKit.ExistsAsync(Api, "v1", "Secret", ns, FacilitySecrets.IssuerKeysSecretName(FacilityKit.Name))
            && !await FacilityKit.ExistsAsync(Api, "v1", "ConfigMap", ns, names.CondorConfig),
            TimeSpan.FromSeconds(60), "garbage collection removes what the facility owned");
        foreach (var claim in claimsBefore)
        {
            (await FacilityKit.ExistsAsync(Api, "v1", "PersistentVolumeClaim", ns, claim)).Should().BeTrue($"claim {claim} holds data and is retained");
        }
        claimsBefore.Should().Contain(store.ClaimName);
        var pv = await FacilityKit.GetObjectAsync(Api, "v1", "PersistentVolume", null, volume);
        pv.Should().NotBeNull("the store volume is retained");
        pv!["metadata"]!["labels"]?[Builders.Common.Labels.ManagedBy].Should().BeNull("the finalizer releases the retained volume from the operator");
        harness.Host.Issuers.Snapshot.Keys.Should().NotContain(FacilityKit.IssuerPath(ns), "the deleted facility's issuer is no longer served");

        // Re-created with the same name: the retained claim and volume are adopted again, not refused as someone else's.
        await FacilityKit.ApplyWithKubectlAsync(fixture, ns, FacilityKit.SampleYaml(ns));
        await Eventually.TrueAsync(async () =>
            (await FacilityKit.GetObjectAsync(Api, "v1", "PersistentVolume", null, volume))?["metadata"]?["labels"]?[Builders.Common.Labels.ManagedBy]?.GetValue<string>()
                == Builders.Common.Labels.ManagedByValue,
            TimeSpan.FromSeconds(60), "the re-created facility adopts its retained volume");
        await FacilityKit.WaitForConditionAsync(Api, ns, FacilityPlanning.IssuerReadyCondition, "True");
        (await FacilityKit.ConditionAsync(Api, ns, "Ready"))!.Reason.Should().NotBe(FacilityPlanning.NameInUseReason);
    }

    [Fact]
    public async Task An_object_of_another_facility_or_not_made_by_the_operator_is_never_written_and_reported_as_NameInUse()
    {
        var ns = await fixture.CreateNamespaceAsync("fac-names");
        await using var harness = await OperatorHarness.StartAsync(fixture, [ns]);
        JsonObject Facility(string name, string claim) => new()
        {
            ["apiVersion"] = "analysisfacility.io/v1alpha1", ["kind"] = "AnalysisFacility",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
            ["spec"] = new JsonObject
            {
                ["tokens"] = new JsonObject { ["issuer"] = $"https://af.example.org/{name}", ["audiences"] = new JsonArray("https://xcache.example.org") },
                ["hub"] = new JsonObject { ["enabled"] = false },
                ["htcondor"] = new JsonObject { ["enabled"] = false },
                ["userStore"] = new JsonObject
                {
                    ["enabled"] = true, ["sourcePath"] = $"/srv/{name}/source", ["targetPath"] = $"/srv/{name}/target", ["claimName"] = claim,
                },
            },
        };
        var type = Api.Types.For<FacilityResource>();
        var claims = Api.Types.For<V1PersistentVolumeClaim>();
        await Api.CreateAsync(type, Facility("store-a", "shared-store"), CancellationToken.None);
        await Eventually.TrueAsync(async () => await Api.GetAsync(claims, ns, "shared-store", CancellationToken.None) is not null,
            TimeSpan.FromSeconds(60), "the first facility's store claim");
        // What the first facility applied (kube-controller-manager still binds the claim, so its resourceVersion moves).
        var before = (await Api.GetAsync(claims, ns, "shared-store", CancellationToken.None))!["metadata"]!["annotations"]![Operator.Runtime.Apply.Applier.HashAnnotation]!.GetValue<string>();

        // The second facility names the same claim: refused, naming the first; the first one's claim is not written.
        await Api.CreateAsync(type, Facility("store-b", "shared-store"), CancellationToken.None);
        Condition? ready = null;
        await Eventually.TrueAsync(async () =>
        {
            ready = (await FacilityKit.GetAsync(Api, ns, "store-b"))?.Status?.Conditions.FirstOrDefault(c => c.Type == "Ready");
            return ready?.Reason == FacilityPlanning.NameInUseReason;
        }, TimeSpan.FromSeconds(60), "store-b reports NameInUse");
        ready!.Status.Should().Be("False");
        ready.Message.Should().Contain("PersistentVolumeClaim").And.Contain("shared-store").And.Contain("AnalysisFacility 'store-a'");
        var claim = (await Api.GetAsync(claims, ns, "shared-store", CancellationToken.None))!;
        claim["metadata"]!["annotations"]![Operator.Runtime.Apply.Applier.HashAnnotation]!.GetValue<string>().Should().Be(before, "the other facility's claim is never written");
        claim["spec"]!["volumeName"]!.GetValue<string>().Should().Be(new FacilityNames("store-a").StoreVolume(ns));
        claim["metadata"]!["labels"]!["analysisfacility.io/facility"]!.GetValue<string>().Should().Be("store-a");
        (await FacilityKit.EventsAsync(Api, ns)).Should().Contain(e => e.Reason == FacilityPlanning.NameInUseReason && e.InvolvedObject.Name == "store-b");

        // A claim the operator never made (a user's own) is refused too.
        await Api.CreateAsync(claims, new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "PersistentVolumeClaim",
            ["metadata"] = new JsonObject { ["name"] = "users-own", ["namespace"] = ns },
            ["spec"] = new JsonObject
            {
                ["accessModes"] = new JsonArray("ReadWriteOnce"),
                ["resources"] = new JsonObject { ["requests"] = new JsonObject { ["storage"] = "1Gi" } },
            },
        }, CancellationToken.None);
        await Api.CreateAsync(type, Facility("store-c", "users-own"), CancellationToken.None);
        await Eventually.TrueAsync(async () =>
            (await FacilityKit.GetAsync(Api, ns, "store-c"))?.Status?.Conditions.FirstOrDefault(c => c.Type == "Ready") is { Reason: FacilityPlanning.NameInUseReason } c
            && c.Message!.Contains("was not made by this operator"),
            TimeSpan.FromSeconds(60), "store-c reports NameInUse for a claim it did not make");
        (await Api.GetAsync(claims, ns, "users-own", CancellationToken.None))!["metadata"]!["labels"].Should().BeNull("the user's claim is left untouched");
    }

    [Fact]
    public async Task An_invalid_edit_gets_Ready_False_and_an_Event_and_leaves_running_objects_alone()
    {
        var (ns, facility) = await CreateSampleAsync("fac-invalid");
        await using var harness = await OperatorHarness.StartAsync(fixture, [ns]);
        await WaitForAllObjectsAsync(facility);
        var names = new FacilityNames(FacilityKit.Name);

        // Both pass the schema: Triton without a bucket, two users mapped to one store directory.
        await FacilityKit.PatchSpecAsync(Api, ns, new JsonObject
        {
            ["triton"] = new JsonObject { ["modelRepository"] = null },
            ["userStore"] = new JsonObject
            {
                ["users"] = new JsonArray(
                    new JsonObject { ["user"] = "oksana.shadura@cern.ch", ["storeName"] = "oshadura" },
                    new JsonObject { ["user"] = "someone.else@cern.ch", ["storeName"] = "oshadura" }),
            },
        });
        await FacilityKit.WaitForConditionAsync(Api, ns, "Ready", "False", FacilityPlanning.InvalidSpecReason);
        var status = (await FacilityKit.GetAsync(Api, ns))!.Status;
        var ready = status.Conditions.Single(c => c.Type == "Ready");
        ready.Message.Should().Contain("spec.triton").And.Contain("spec.userStore.users");
        status.Conditions.Single(c => c.Type == "TritonReady").Reason.Should().Be(FacilityPlanning.InvalidSpecReason);
        status.Conditions.Single(c => c.Type == "UserStoreReady").Reason.Should().Be(FacilityPlanning.InvalidSpecReason);
        status.Phase.Should().Be("Failed");

        await Eventually.TrueAsync(async () => (await FacilityKit.EventsAsync(Api, ns)).Any(e => e.Type == "Warning" && e.Reason == FacilityPlanning.InvalidSpecReason
            && e.InvolvedObject.Name == FacilityKit.Name && e.Message.Contains("spec.userStore.users")), TimeSpan.FromSeconds(30), "a Warning Event names the invalid fields");

        // What ran before the bad edit keeps running.
        await Task.Delay(TimeSpan.FromSeconds(2));
        (await FacilityKit.ExistsAsync(Api, "apps/v1", "Deployment", ns, names.Triton)).Should().BeTrue();
        (await FacilityKit.ExistsAsync(Api, "apps/v1", "DaemonSet", ns, names.Bindfs)).Should().BeTrue();
        (await FacilityKit.ExistsAsync(Api, "apps/v1", "Deployment", ns, names.Hub)).Should().BeTrue();

        // Fixing the spec clears the reason.
        await FacilityKit.PatchSpecAsync(Api, ns, new JsonObject
        {
            ["triton"] = new JsonObject { ["enabled"] = false },
            ["userStore"] = new JsonObject { ["users"] = new JsonArray(new JsonObject { ["user"] = "oksana.shadura@cern.ch", ["storeName"] = "oshadura" }) },
        });
        await Eventually.TrueAsync(async () => (await FacilityKit.ConditionAsync(Api, ns, "Ready"))?.Reason != FacilityPlanning.InvalidSpecReason,
            TimeSpan.FromSeconds(30), "the InvalidSpec reason clears once the spec is fixed");
    }
}
