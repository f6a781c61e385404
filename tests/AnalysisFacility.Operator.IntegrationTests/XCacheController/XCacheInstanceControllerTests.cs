using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.XCache;
using AnalysisFacility.Operator.Controllers.XCache;
using AnalysisFacility.Operator.IntegrationTests.Support;
using k8s.Models;
using static AnalysisFacility.Operator.IntegrationTests.DaskController.ControllerTestKit;

namespace AnalysisFacility.Operator.IntegrationTests.XCacheController;

[Collection(ControlPlaneCollection.Name)]
public sealed class XCacheInstanceControllerTests(ControlPlaneFixture fixture)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Cache_objects_roll_on_updates_report_readiness_refuse_bad_watermarks_and_are_garbage_collected()
    {
        var api = fixture.Api;
        var ns = await fixture.CreateNamespaceAsync("xcache-ctl");
        await using var harness = await OperatorHarness.StartAsync(fixture, [ns]);
        await CreateFacilityAsync(api, ns);
        var instance = new XCacheInstance
        {
            Metadata = new V1ObjectMeta { Name = "cache", NamespaceProperty = ns },
            Spec = new XCacheInstanceSpec
            {
                Replicas = 2, Origin = "root://origin.example.org:1094", CacheSize = "10Gi", Ram = "4g",
                Authorization = new XCacheAuthorization { FacilityRef = FacilityName, BasePath = "/store" },
            },
        };
        await CreateAsync(api, instance);
        var objectName = XCacheBuilder.ObjectName(instance);

        V1StatefulSet? statefulSet = null;
        await Eventually.TrueAsync(async () => (statefulSet = await GetAsync<V1StatefulSet>(api, ns, objectName)) is not null, Wait, "StatefulSet");
        statefulSet!.Spec.Replicas.Should().Be(2);
        statefulSet.Spec.VolumeClaimTemplates.Single().Spec.Resources.Requests["storage"].ToString().Should().Be("10Gi");
        statefulSet.Metadata.OwnerReferences.Should().ContainSingle(o => o.Kind == "XCacheInstance" && o.Controller == true);
        var configMap = await GetAsync<V1ConfigMap>(api, ns, objectName);
        configMap!.Data[XCacheLayout.XrootdConfigFile].Should().Contain("pfc.ram 4g").And.Contain("origin.example.org");
        configMap.Data[XCacheLayout.ScitokensConfigFile].Should().Contain("https://af.example.org/issuer").And.Contain("https://xcache.example.org");
        (await GetAsync<V1Service>(api, ns, XCacheBuilder.HeadlessServiceName(instance)))!.Spec.ClusterIP.Should().Be("None");
        (await GetAsync<V1Service>(api, ns, objectName))!.Spec.Ports.Should().Contain(p => p.Port == 1094);
        var tls = await GetAsync<V1Secret>(api, ns, XCacheBuilder.TlsSecretName(instance));
        tls!.Type.Should().Be("kubernetes.io/tls");
        tls.Data.Keys.Should().BeEquivalentTo(["tls.crt", "tls.key", "ca.crt"]);

        XCacheInstance? live = null;
        await Eventually.TrueAsync(async () => (live = await GetAsync<XCacheInstance>(api, ns, "cache"))!.Status.Endpoint is not null, Wait, "endpoint in status");
        live!.Status.Endpoint.Should().Be($"root://{objectName}.{ns}.svc:1094");
        Conditions.IsTrue(live.Status.Conditions, Conditions.Ready).Should().BeFalse("no server is ready yet");

        // The kubelet stand-in reports both servers ready.
        await Eventually.TrueAsync(async () => await Kubelet.MarkPodsReadyAsync(api, ns, "app.kubernetes.io/name=xcache") == 2, Wait, "two cache pods");
        await Eventually.TrueAsync(async () =>
        {
            live = await GetAsync<XCacheInstance>(api, ns, "cache");
            return live!.Status.ReadyReplicas == 2 && Conditions.IsTrue(live.Status.Conditions, Conditions.Ready);
        }, Wait, "Ready with 2 ready replicas");
        live!.Status.Phase.Should().Be("Ready");
        await SteadyState.AssertNoWritesAsync(() => harness.Host.Api.Calls.Writes, TimeSpan.FromSeconds(4), "ready cache");

        // More RAM and a replica: new configuration, so the pod template changes and the servers roll.
        var oldHash = statefulSet.Spec.Template.Metadata.Annotations[XCacheBuilder.ConfigHashAnnotation];
        await PatchSpecAsync<XCacheInstance>(api, ns, "cache", new JsonObject { ["ram"] = "8g", ["replicas"] = 3 });
        await Eventually.TrueAsync(async () =>
        {
            statefulSet = await GetAsync<V1StatefulSet>(api, ns, objectName);
            return statefulSet!.Spec.Replicas == 3 && statefulSet.Spec.Template.Metadata.Annotations[XCacheBuilder.ConfigHashAnnotation] != oldHash;
        }, Wait, "3 replicas with a new config hash");
        (await GetAsync<V1ConfigMap>(api, ns, objectName))!.Data[XCacheLayout.XrootdConfigFile].Should().Contain("pfc.ram 8g");
        await Eventually.TrueAsync(async () => !Conditions.IsTrue((await GetAsync<XCacheInstance>(api, ns, "cache"))!.Status.Conditions, Conditions.Ready),
            Wait, "not Ready while the update rolls out");

        // Watermarks out of order: refused with a condition and an Event; the servers are left alone.
        await PatchSpecAsync<XCacheInstance>(api, ns, "cache", new JsonObject { ["watermarks"] = new JsonObject { ["low"] = "0.97", ["high"] = "0.95" } });
        await Eventually.TrueAsync(async () =>
            Condition((live = await GetAsync<XCacheInstance>(api, ns, "cache"))!.Status.Conditions, Conditions.Ready)?.Reason == XCacheConditions.InvalidSpec,
            Wait, "InvalidSpec");
        Condition(live!.Status.Conditions, Conditions.Ready)!.Message.Should().Contain("spec.watermarks");
        live.Status.Phase.Should().Be("Failed");
        await Eventually.TrueAsync(async () => (await EventsAsync(api, ns, "cache")).Any(e => e.Reason == XCacheConditions.InvalidSpec && e.Type == "Warning"),
            Wait, "InvalidSpec Warning Event");
        (await GetAsync<V1ConfigMap>(api, ns, objectName))!.Data[XCacheLayout.XrootdConfigFile].Should().Contain("pfc.ram 8g");
        (await GetAsync<V1StatefulSet>(api, ns, objectName))!.Spec.Replicas.Should().Be(3);

        await api.DeleteAsync(api.Types.For<XCacheInstance>(), ns, "cache", CancellationToken.None);
        await Eventually.TrueAsync(async () =>
                await GetAsync<V1StatefulSet>(api, ns, objectName) is null && await GetAsync<V1ConfigMap>(api, ns, objectName) is null
                && await GetAsync<V1Service>(api, ns, objectName) is null && await GetAsync<V1Secret>(api, ns, XCacheBuilder.TlsSecretName(instance)) is null,
            TimeSpan.FromSeconds(90), "owned objects garbage collected");
    }
}
