using System.Net;
using AnalysisFacility.LocalCluster.ControlPlane;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>
/// The node's pod network: a bridge holding the node address, and per pod a network namespace joined to it by a
/// veth pair, with an address from the slot's pod range and a default route via the bridge (so a pod reaches the
/// node's Service proxy and the other pods, nothing else: there is no NAT and no forwarding out of this machine).
/// </summary>
public sealed class PodNetwork
{
    private readonly NodeSlot _slot;
    private readonly object _gate = new();
    private readonly HashSet<int> _used = [];

    public PodNetwork(NodeSlot slot) => _slot = slot;

    public IPAddress NodeAddress => IPAddress.Parse(_slot.BridgeAddress);

    public async Task CreateBridgeAsync(CancellationToken cancellationToken)
    {
        await HostCommands.IpAsync(cancellationToken, "link", "add", _slot.BridgeName, "type", "bridge");
        await HostCommands.IpAsync(cancellationToken, "addr", "add", $"{_slot.BridgeAddress}/24", "dev", _slot.BridgeName);
        await HostCommands.IpAsync(cancellationToken, "link", "set", _slot.BridgeName, "up");
    }

    /// <summary>Makes the namespace of one pod and returns its name and address.</summary>
    public async Task<(string Netns, IPAddress Address)> CreatePodNamespaceAsync(string podUid, CancellationToken cancellationToken)
    {
        int host;
        lock (_gate)
        {
            host = Enumerable.Range(2, 252).First(h => !_used.Contains(h));
            _used.Add(host);
        }
        var netns = _slot.NetnsPrefix + podUid[..8];
        var address = ServiceNetwork.Offset(_slot.PodCidr, host);
        var hostSide = $"afv{_slot.Index}-{host}";
        try
        {
            await HostCommands.IpAsync(cancellationToken, "netns", "add", netns);
            await HostCommands.IpAsync(cancellationToken, "link", "add", hostSide, "type", "veth", "peer", "name", "eth0", "netns", netns);
            await HostCommands.IpAsync(cancellationToken, "link", "set", hostSide, "master", _slot.BridgeName, "up");
            await HostCommands.IpAsync(cancellationToken, "-n", netns, "link", "set", "lo", "up");
            await HostCommands.IpAsync(cancellationToken, "-n", netns, "addr", "add", $"{address}/24", "dev", "eth0");
            await HostCommands.IpAsync(cancellationToken, "-n", netns, "link", "set", "eth0", "up");
            await HostCommands.IpAsync(cancellationToken, "-n", netns, "route", "add", "default", "via", _slot.BridgeAddress);
            return (netns, address);
        }
        catch
        {
            await DeletePodNamespaceAsync(netns, address, CancellationToken.None);
            throw;
        }
    }

    /// <summary>Deletes a pod's namespace (its veth pair goes with it) and frees its address.</summary>
    public async Task DeletePodNamespaceAsync(string netns, IPAddress address, CancellationToken cancellationToken)
    {
        await HostCommands.TryRunAsync("ip", ["netns", "delete", netns], cancellationToken);
        var host = address.GetAddressBytes()[3];
        lock (_gate) _used.Remove(host);
    }

    public Task AddServiceAddressAsync(string address, CancellationToken cancellationToken) =>
        HostCommands.TryRunAsync("ip", ["addr", "add", $"{address}/32", "dev", _slot.BridgeName], cancellationToken);

    public Task RemoveServiceAddressAsync(string address, CancellationToken cancellationToken) =>
        HostCommands.TryRunAsync("ip", ["addr", "del", $"{address}/32", "dev", _slot.BridgeName], cancellationToken);
}
