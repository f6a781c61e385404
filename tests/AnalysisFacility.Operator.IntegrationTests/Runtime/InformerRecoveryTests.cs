using System.Text.Json.Nodes;
using AnalysisFacility.LocalCluster.ControlPlane;
using AnalysisFacility.Operator.Dev;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Client;
using k8s;
using k8s.Models;
using Serilog;

namespace AnalysisFacility.Operator.IntegrationTests.Runtime;

/// <summary>
/// Informer recovery with a control plane of its own (these tests restart or cut off the API server).
/// </summary>
public sealed class InformerRecoveryTests : IAsyncLifetime
{
    private LocalControlPlane _plane = null!;
    private KubernetesApi _admin = null!;

    public async Task InitializeAsync()
    {
        _plane = await LocalControlPlane.StartAsync(CancellationToken.None, withControllerManager: false);
        _admin = new KubernetesApi(_plane.AdminConfiguration(), ApiJson.Options);
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        await _plane.DisposeAsync();
    }

    private static JsonObject ConfigMap(string name) => new()
    {
        ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "default" },
        ["data"] = new JsonObject { ["n"] = "0" },
    };

    private static Informer<V1ConfigMap> NewInformer(KubernetesApi api) =>
        new(api, api.Types.For<V1ConfigMap>(), new InformerOptions { Namespaces = ["default"], WatchTimeout = TimeSpan.FromSeconds(20) },
            new LoggerConfiguration().CreateLogger());

    [Fact]
    public async Task Watch_resumes_after_an_api_server_restart()
    {
        using var api = new KubernetesApi(_plane.AdminConfiguration(), ApiJson.Options);
        var informer = NewInformer(api);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.Synced.WaitAsync(TimeSpan.FromSeconds(30));
        var cms = api.Types.For<V1ConfigMap>();
        await _admin.CreateAsync(cms, ConfigMap("before"), default);
        await Eventually.TrueAsync(() => Task.FromResult(informer.Get(new ObjectKey("default", "before")) is not null), TimeSpan.FromSeconds(10), "seen before restart");

        await _plane.RestartApiServerAsync(default, downtime: TimeSpan.FromSeconds(2));

        await _admin.CreateAsync(cms, ConfigMap("after"), default);
        await _admin.DeleteAsync(cms, "default", "before", default);
        await Eventually.TrueAsync(() => Task.FromResult(
            informer.Get(new ObjectKey("default", "after")) is not null && informer.Get(new ObjectKey("default", "before")) is null),
            TimeSpan.FromSeconds(60), "changes after the restart reach the cache");
        stop.Cancel();
        await run;
    }

    [Fact]
    public async Task Relists_on_410_Gone_and_sees_deletions_missed_while_cut_off()
    {
        // The operator reaches the API server through a proxy we can cut, like a network partition.
        await using var proxy = new TcpProxy(_plane.ApiServerPort);
        var configuration = _plane.AdminConfiguration();
        configuration.Host = $"https://127.0.0.1:{proxy.Port}";
        using var api = new KubernetesApi(configuration, ApiJson.Options);
        var informer = NewInformer(api);
        var deletions = new List<string>();
        informer.AddHandler((type, obj) =>
        {
            if (type == InformerEventType.Deleted) lock (deletions) deletions.Add(obj.Metadata.Name);
        });
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        var cms = api.Types.For<V1ConfigMap>();
        await _admin.CreateAsync(cms, ConfigMap("doomed"), default);
        await _admin.CreateAsync(cms, ConfigMap("churn"), default);
        await Eventually.TrueAsync(() => Task.FromResult(informer.Count >= 2), TimeSpan.FromSeconds(10), "initial objects cached");
        var relistsBefore = informer.Relists;

        proxy.Block();
        await _admin.DeleteAsync(cms, "default", "doomed", default);
        for (var i = 0; i < 20; i++)
        {
            await _admin.PatchAsync(cms, "default", "churn", "{\"data\":{\"n\":\"" + i + "\"}}", KubernetesApi.MergePatch, default);
        }
        // A restarted API server's watch cache starts at the current revision: resuming from the informer's older
        // resourceVersion is answered with 410 Gone, exactly as after etcd compaction.
        await _plane.RestartApiServerAsync(default);
        proxy.Unblock();

        await Eventually.TrueAsync(() => Task.FromResult(informer.Get(new ObjectKey("default", "doomed")) is null), TimeSpan.FromSeconds(60),
            "deletion seen after reconnect");
        lock (deletions) deletions.Should().Contain("doomed", "the relist diff emits a Deleted event for objects that vanished");
        informer.Relists.Should().BeGreaterThan(relistsBefore, "resuming from an expired resourceVersion must relist");
        informer.Get(new ObjectKey("default", "churn"))!.Data["n"].Should().Be("19");
        stop.Cancel();
        await run;
    }
}
