using AnalysisFacility.LocalCluster;
using k8s;
using k8s.Models;
using Serilog;

namespace AnalysisFacility.Operator.IntegrationTests.Support;

/// <summary>
/// One local cluster (control plane with kube-scheduler, and a local node that runs pods as real processes) shared
/// by the tests of the "local cluster" collection; each test works in a namespace of its own.
/// </summary>
public sealed class LocalClusterFixture : IAsyncLifetime
{
    private LocalKubernetesCluster? _cluster;

    public LocalKubernetesCluster Cluster => _cluster ?? throw new InvalidOperationException("not started");
    public Kubernetes Client => Cluster.Client;

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var log = new LoggerConfiguration().MinimumLevel.Warning().WriteTo.Console().CreateLogger();
        // What dev's node offers by default: room for a whole facility (the scheduler still refuses what does not fit).
        var capacity = AnalysisFacility.LocalCluster.Node.NodeCapacity.OfThisMachine(cpu: 64, memoryBytes: 256L << 30, gpus: 0);
        _cluster = await LocalKubernetesCluster.StartAsync(log, cts.Token, new AnalysisFacility.LocalCluster.Node.LocalNodeOptions { Capacity = capacity });
    }

    public async Task<string> CreateNamespaceAsync(string prefix)
    {
        var name = $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 9, 63)].TrimEnd('-');
        await Client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name } });
        // The service account controller makes "default" (and its token Secret) shortly after the namespace.
        await Eventually.TrueAsync(async () => (await Client.CoreV1.ListNamespacedSecretAsync(name)).Items.Any(s => s.Type == "kubernetes.io/service-account-token"),
            TimeSpan.FromSeconds(30), "default service account token");
        return name;
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await File.WriteAllTextAsync(Path.Combine(Path.GetTempPath(), "af-local-cluster-last.log"), _cluster.Plane.Logs);
            await _cluster.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class LocalClusterCollection : ICollectionFixture<LocalClusterFixture>
{
    public const string Name = "local cluster";
}

/// <summary>Reading pods of the local node in tests.</summary>
public static class Pods
{
    public static async Task<V1Pod> WaitAsync(Kubernetes client, string ns, string name, Func<V1Pod, bool> accept, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        V1Pod? last = null;
        while (true)
        {
            try
            {
                last = await client.CoreV1.ReadNamespacedPodAsync(name, ns);
                if (accept(last)) return last;
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                last = null;
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"pod {ns}/{name}: {what} not reached within {timeout}; last status: {(last is null ? "gone" : ApiJson.Serialize(last.Status))}");
            await Task.Delay(250);
        }
    }

    public static bool IsReady(V1Pod pod) => pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    public static async Task WaitGoneAsync(Kubernetes client, string ns, string name, TimeSpan timeout)
    {
        await Eventually.TrueAsync(async () => (await client.CoreV1.ListNamespacedPodAsync(ns, fieldSelector: $"metadata.name={name}")).Items.Count == 0,
            timeout, $"pod {ns}/{name} deleted");
    }
}
