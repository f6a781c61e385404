using System.Text;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.Dask;
using AnalysisFacility.Operator.Builders.Tokens;
using AnalysisFacility.Operator.Controllers.Dask;
using AnalysisFacility.Operator.IntegrationTests.Support;
using k8s.Models;
using static AnalysisFacility.Operator.IntegrationTests.DaskController.ControllerTestKit;

namespace AnalysisFacility.Operator.IntegrationTests.DaskController;

[Collection(ControlPlaneCollection.Name)]
public sealed class DaskClusterControllerTests(ControlPlaneFixture fixture)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Cluster_objects_follow_the_spec_report_status_and_are_garbage_collected()
    {
        var api = fixture.Api;
        var ns = await fixture.CreateNamespaceAsync("dask-ctl");
        await using var harness = await OperatorHarness.StartAsync(fixture, [ns]);
        await CreateFacilityAsync(api, ns);
        await CreateAsync(api, new DaskCluster
        {
            Metadata = new V1ObjectMeta { Name = "alice", NamespaceProperty = ns },
            Spec = new DaskClusterSpec { FacilityRef = FacilityName, User = "alice", Tls = true, External = true, Worker = new DaskWorkerSpec { Replicas = 2 } },
        });

        V1Deployment? scheduler = null, workers = null;
        await Eventually.TrueAsync(async () =>
        {
            scheduler = await GetAsync<V1Deployment>(api, ns, DaskNames.Scheduler("alice"));
            workers = await GetAsync<V1Deployment>(api, ns, DaskNames.Workers("alice"));
            return scheduler is not null && workers is not null;
        }, Wait, "scheduler and worker Deployments");
        workers!.Spec.Replicas.Should().Be(2);
        workers.Metadata.OwnerReferences.Should().ContainSingle(o => o.Kind == "DaskCluster" && o.Name == "alice" && o.Controller == true);
        var schedulerContainer = scheduler!.Spec.Template.Spec.Containers.Single(c => c.Name == "scheduler");
        schedulerContainer.Ports.Select(p => p.ContainerPort).Should().BeEquivalentTo([8786, 8787]);
        schedulerContainer.Env.Should().Contain(e => e.Name == DaskEnvironment.HttpRoutes && e.Value.Contains("distributed.http.scheduler.api"));
        schedulerContainer.Env.Should().Contain(e => e.Name == DaskEnvironment.RequireEncryption && e.Value == "True");
        // The user's token reaches the pods through the token builders' init container and refresher.
        var workerPod = workers.Spec.Template.Spec;
        workerPod.InitContainers.Should().Contain(c => c.Name == TokenDelivery.InitContainerName);
        workerPod.Containers.Should().Contain(c => c.Name == TokenDelivery.RefresherContainerName);
        // The facility logs users in at an identity provider (hub oauth, the default): workers get both of the user's tokens.
        workerPod.Volumes.SelectMany(v => v.Projected?.Sources ?? []).Select(p => p.Secret?.Name)
            .Should().Equal(TokenDelivery.SecretName(FacilityName, "alice"), ExperimentTokenSecret.Name(FacilityName, "alice"));
        workerPod.Containers.Single(c => c.Name == "worker").Env.Select(e => e.Name)
            .Should().Contain(["BEARER_TOKEN_FILE", TokenDelivery.FacilityTokenVariable, TokenDelivery.ExperimentTokenVariable]);

        var service = await GetAsync<V1Service>(api, ns, DaskNames.Scheduler("alice"));
        service!.Spec.Ports.Select(p => p.Port).Should().BeEquivalentTo([8786, 8787]);
        var tls = await GetAsync<V1Secret>(api, ns, DaskNames.TlsSecret("alice"));
        tls!.Data.Keys.Should().BeEquivalentTo(["ca.crt", "scheduler.crt", "scheduler.key", "client.crt", "client.key"]);

        // No Traefik CRD in this cluster: reported, the rest works; the token Secret does not exist yet.
        DaskCluster? cluster = null;
        await Eventually.TrueAsync(async () =>
        {
            cluster = await GetAsync<DaskCluster>(api, ns, "alice");
            return Condition(cluster!.Status.Conditions, DaskConditions.ExternalRouteReady)?.Reason == DaskConditions.TraefikCrdMissing
                   && Condition(cluster.Status.Conditions, DaskConditions.TokenReady)?.Reason == DaskConditions.TokenSecretMissing;
        }, Wait, "route and token conditions");
        cluster!.Status.SchedulerAddress.Should().Be($"tls://alice-scheduler.{ns}.svc.cluster.local:8786");
        cluster.Status.ExternalAddress.Should().Be($"tls://alice.dask.{Domain}:8786");
        cluster.Status.DashboardUrl.Should().Be($"http://alice-scheduler.{ns}.svc.cluster.local:8787/status");
        cluster.Status.DesiredWorkers.Should().Be(2);
        Condition(cluster.Status.Conditions, Conditions.Ready)!.Status.Should().Be("False");

        // The session controller's token Secret appears, the kubelet reports the pods ready: the cluster is ready.
        await CreateAsync(api, new V1Secret
        {
            ApiVersion = "v1", Kind = "Secret",
            Metadata = new V1ObjectMeta
            {
                Name = TokenDelivery.SecretName(FacilityName, "alice"), NamespaceProperty = ns,
                Labels = Labels.For("analysisfacility", FacilityName, "user-token", FacilityName),
            },
            Data = new Dictionary<string, byte[]> { ["token"] = Encoding.ASCII.GetBytes("not-a-real-token") },
        });
        await Eventually.TrueAsync(async () => await Kubelet.MarkPodsReadyAsync(api, ns, "app.kubernetes.io/name=dask") >= 3, Wait, "three dask pods");
        await Eventually.TrueAsync(async () =>
        {
            cluster = await GetAsync<DaskCluster>(api, ns, "alice");
            return Conditions.IsTrue(cluster!.Status.Conditions, Conditions.Ready) && cluster.Status.ReadyWorkers == 2;
        }, Wait, "Ready with 2 ready workers");
        cluster!.Status.Phase.Should().Be("Ready");
        Condition(cluster.Status.Conditions, DaskConditions.ExternalRouteReady)!.Status.Should().Be("False", "the route is still missing, which only degrades");

        await SteadyState.AssertNoWritesAsync(() => harness.Host.Api.Calls.Writes, TimeSpan.FromSeconds(4), "ready cluster");

        // Replicas follow the spec.
        await PatchSpecAsync<DaskCluster>(api, ns, "alice", new JsonObject { ["worker"] = new JsonObject { ["replicas"] = 4 } });
        await Eventually.TrueAsync(async () => (await GetAsync<V1Deployment>(api, ns, DaskNames.Workers("alice")))!.Spec.Replicas == 4, Wait, "4 worker replicas");
        await Eventually.TrueAsync(async () => (await GetAsync<DaskCluster>(api, ns, "alice"))!.Status.DesiredWorkers == 4, Wait, "desiredWorkers 4");

        // Above the facility's maxWorkersPerCluster (5): refused with a condition and an Event, nothing torn down.
        await PatchSpecAsync<DaskCluster>(api, ns, "alice", new JsonObject { ["worker"] = new JsonObject { ["replicas"] = 9 } });
        await Eventually.TrueAsync(async () =>
        {
            cluster = await GetAsync<DaskCluster>(api, ns, "alice");
            return Condition(cluster!.Status.Conditions, Conditions.Ready)?.Reason == DaskConditions.InvalidSpec;
        }, Wait, "InvalidSpec condition");
        Condition(cluster!.Status.Conditions, Conditions.Ready)!.Message.Should().Contain("spec.worker.replicas").And.Contain("maxWorkersPerCluster");
        cluster.Status.Phase.Should().Be("Failed");
        await Eventually.TrueAsync(async () => (await EventsAsync(api, ns, "alice")).Any(e => e.Reason == DaskConditions.InvalidSpec && e.Type == "Warning"),
            Wait, "InvalidSpec Warning Event");
        (await GetAsync<V1Deployment>(api, ns, DaskNames.Workers("alice")))!.Spec.Replicas.Should().Be(4, "a bad edit does not touch what runs");
        await SteadyState.AssertNoWritesAsync(() => harness.Host.Api.Calls.Writes, TimeSpan.FromSeconds(3), "invalid cluster");

        // Deletion: garbage collection removes everything the cluster owned.
        await api.DeleteAsync(api.Types.For<DaskCluster>(), ns, "alice", CancellationToken.None);
        await Eventually.TrueAsync(async () =>
                await GetAsync<V1Deployment>(api, ns, DaskNames.Scheduler("alice")) is null
                && await GetAsync<V1Deployment>(api, ns, DaskNames.Workers("alice")) is null
                && await GetAsync<V1Service>(api, ns, DaskNames.Scheduler("alice")) is null
                && await GetAsync<V1Secret>(api, ns, DaskNames.TlsSecret("alice")) is null,
            TimeSpan.FromSeconds(90), "owned objects garbage collected");
    }

    [Fact]
    public async Task Missing_facility_is_reported_and_resolved_when_the_facility_and_its_ca_appear()
    {
        var api = fixture.Api;
        var ns = await fixture.CreateNamespaceAsync("dask-wait");
        await using var harness = await OperatorHarness.StartAsync(fixture, [ns]);
        await CreateAsync(api, new DaskCluster
        {
            Metadata = new V1ObjectMeta { Name = "bob", NamespaceProperty = ns },
            Spec = new DaskClusterSpec { FacilityRef = FacilityName, Tls = true },
        });
        await Eventually.TrueAsync(async () => Condition((await GetAsync<DaskCluster>(api, ns, "bob"))!.Status.Conditions, Conditions.Ready)?.Reason == DaskConditions.FacilityNotFound,
            Wait, "FacilityNotFound");
        (await EventsAsync(api, ns, "bob")).Should().Contain(e => e.Reason == DaskConditions.FacilityNotFound);

        // With the whole operator running, the facility controller makes the facility CA the cluster's TLS needs.
        await CreateFacilityAsync(api, ns, withCa: false);
        await Eventually.TrueAsync(async () => await GetAsync<V1Deployment>(api, ns, DaskNames.Scheduler("bob")) is not null
                                               && Conditions.IsTrue((await GetAsync<DaskCluster>(api, ns, "bob"))!.Status.Conditions, DaskConditions.TlsReady),
            Wait, "objects once the CA exists");
    }
}
