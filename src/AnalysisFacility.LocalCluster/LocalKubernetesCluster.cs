using AnalysisFacility.LocalCluster.ControlPlane;
using AnalysisFacility.LocalCluster.Node;
using k8s;
using Serilog;

namespace AnalysisFacility.LocalCluster;

/// <summary>
/// A whole cluster on this machine: the control plane with kube-scheduler and one local node in a slot of its own
/// (its own bridge, pod range and Service range, so several clusters can run side by side). Dispose stops the node
/// first (pods end, namespaces and mounts go), then the control plane.
/// </summary>
public sealed class LocalKubernetesCluster : IAsyncDisposable
{
    private LocalKubernetesCluster(LocalControlPlane plane, LocalNode node, Kubernetes client)
    {
        Plane = plane;
        Node = node;
        Client = client;
    }

    public LocalControlPlane Plane { get; }
    public LocalNode Node { get; }
    public Kubernetes Client { get; }

    public static async Task<LocalKubernetesCluster> StartAsync(ILogger log, CancellationToken ct, LocalNodeOptions? nodeOptions = null,
        IReadOnlyDictionary<string, string>? extraUsers = null)
    {
        if (LocalNode.WhyUnavailable() is { } why) throw new InvalidOperationException(why);
        var slot = await NodeSlot.ClaimAsync(log, ct);
        LocalControlPlane? plane = null;
        Kubernetes? client = null;
        try
        {
            plane = await LocalControlPlane.StartAsync(ct, extraUsers: extraUsers, withScheduler: true, serviceCidr: slot.ServiceCidr);
            client = new Kubernetes(plane.AdminConfiguration());
            var options = (nodeOptions ?? new LocalNodeOptions()) with { ApiServer = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, plane.ApiServerPort) };
            var node = await LocalNode.CreateAsync(client, options, slot, log, ct);
            await node.StartAsync(ct);
            return new LocalKubernetesCluster(plane, node, client);
        }
        catch
        {
            client?.Dispose();
            if (plane is not null) await plane.DisposeAsync();
            await slot.ClearLeftoversAsync(log, CancellationToken.None);
            slot.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Node.DisposeAsync();
        Client.Dispose();
        await Plane.DisposeAsync();
        Node.Slot.Dispose();
    }
}
