using System.Net;
using System.Net.Sockets;
using k8s.Models;
using Serilog;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>
/// The node's Service proxy, as kube-proxy's userspace mode did it: each ClusterIP Service address is put on the
/// node's bridge and each of its TCP ports gets a listener that forwards a connection to one ready endpoint (at the
/// endpoint's port, which may differ from the Service port). Pods reach it through their default route.
/// </summary>
public sealed class ServiceProxy : IAsyncDisposable
{
    private readonly PodNetwork _network;
    private readonly ILogger _log;
    private readonly Dictionary<string, Listener> _listeners = [];
    private readonly HashSet<string> _addresses = [];
    private readonly Random _random = new();
    private readonly IPEndPoint? _apiServer;
    private IReadOnlyDictionary<string, V1Endpoints> _endpoints = new Dictionary<string, V1Endpoints>();

    /// <param name="apiServer">
    /// Where `default/kubernetes` forwards: the API server listens on loopback here, an address Endpoints may not
    /// hold (the API server's own endpoint reconciler refuses it), so the node, which knows its API server, says it.
    /// </param>
    public ServiceProxy(PodNetwork network, IPEndPoint? apiServer, ILogger log)
    {
        _network = network;
        _apiServer = apiServer;
        _log = log;
    }

    /// <summary>Brings the listeners in line with the Services and their endpoints.</summary>
    public async Task SyncAsync(IReadOnlyList<V1Service> services, IReadOnlyDictionary<string, V1Endpoints> endpoints, CancellationToken cancellationToken)
    {
        _endpoints = endpoints;
        var wanted = new Dictionary<string, (string Ip, V1ServicePort Port, string Service)>();
        var addresses = new HashSet<string>();
        foreach (var service in services)
        {
            if (service.Spec.ClusterIP is not { Length: > 0 } ip || ip == "None") continue;
            foreach (var port in service.Spec.Ports ?? [])
            {
                if (port.Protocol is not (null or "TCP")) continue;
                addresses.Add(ip);
                var name = $"{service.Metadata.NamespaceProperty}/{service.Metadata.Name}";
                // Listen only while the port has a ready endpoint: without one, the address is still this node's, so
                // the kernel refuses the connection (ECONNREFUSED), as kube-proxy's REJECT rule does. Accepting and
                // then closing would look like a broken server to clients (Dask's TLS handshake fails fatally
                // instead of retrying until the scheduler is ready).
                if (ReadyEndpoints(name, port.Name).Count == 0) continue;
                wanted[$"{ip}:{port.Port}"] = (ip, port, name);
            }
        }
        foreach (var key in _listeners.Keys.Except(wanted.Keys).ToList())
        {
            await _listeners[key].DisposeAsync();
            _listeners.Remove(key);
        }
        foreach (var ip in _addresses.Except(addresses).ToList())
        {
            await _network.RemoveServiceAddressAsync(ip, cancellationToken);
            _addresses.Remove(ip);
        }
        foreach (var ip in addresses)
        {
            if (_addresses.Add(ip)) await _network.AddServiceAddressAsync(ip, cancellationToken);
        }
        foreach (var (key, (ip, port, service)) in wanted)
        {
            if (_listeners.TryGetValue(key, out var existing))
            {
                existing.PortName = port.Name;
                continue;
            }
            try
            {
                var socket = new TcpListener(IPAddress.Parse(ip), port.Port);
                socket.Start(128);
                var listener = new Listener(this, socket, service, port.Name);
                _listeners[key] = listener;
                listener.Start();
            }
            catch (SocketException e)
            {
                _log.Warning("Service {Service} port {Port}: cannot listen on {Address}: {Error}", service, port.Port, ip, e.Message);
            }
        }
    }

    private IPEndPoint? PickEndpoint(string service, string? portName)
    {
        var candidates = ReadyEndpoints(service, portName);
        if (candidates.Count == 0) return null;
        lock (_random) return candidates[_random.Next(candidates.Count)];
    }

    /// <summary>Where a Service port forwards to: its ready endpoints' addresses at the endpoint port.</summary>
    private List<IPEndPoint> ReadyEndpoints(string service, string? portName)
    {
        if (service == "default/kubernetes" && _apiServer is not null) return [_apiServer];
        if (!_endpoints.TryGetValue(service, out var endpoints)) return [];
        var candidates = new List<IPEndPoint>();
        foreach (var subset in endpoints.Subsets ?? [])
        {
            var port = (subset.Ports ?? []).FirstOrDefault(p => p.Name == portName || (subset.Ports!.Count == 1 && portName is null or ""));
            if (port is null || port.Protocol is not (null or "TCP")) continue;
            foreach (var address in subset.Addresses ?? []) candidates.Add(new IPEndPoint(IPAddress.Parse(address.Ip), port.Port));
        }
        return candidates;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var listener in _listeners.Values) await listener.DisposeAsync();
        _listeners.Clear();
        foreach (var ip in _addresses) await _network.RemoveServiceAddressAsync(ip, CancellationToken.None);
        _addresses.Clear();
    }

    private sealed class Listener(ServiceProxy proxy, TcpListener socket, string service, string? portName) : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private Task _accepting = Task.CompletedTask;

        public string? PortName { get; set; } = portName;

        public void Start() => _accepting = Task.Run(AcceptAsync);

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await socket.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (SocketException)
                {
                    continue;
                }
                _ = Task.Run(() => ForwardAsync(client));
            }
        }

        private async Task ForwardAsync(TcpClient client)
        {
            using (client)
            {
                // The endpoints went away since the last sync (which then stops listening): close, as there is nothing to reach.
                if (proxy.PickEndpoint(service, PortName) is not { } target) return;
                using var upstream = new TcpClient();
                try
                {
                    await upstream.ConnectAsync(target, _stop.Token);
                    var down = client.GetStream();
                    var up = upstream.GetStream();
                    var a = CopyAsync(down, up, upstream.Client);
                    var b = CopyAsync(up, down, client.Client);
                    await Task.WhenAll(a, b);
                }
                catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
                {
                    // a side went away
                }
            }
        }

        private async Task CopyAsync(NetworkStream from, NetworkStream to, Socket toSocket)
        {
            try
            {
                await from.CopyToAsync(to, _stop.Token);
                toSocket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
            {
                toSocket.Close();
            }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            socket.Stop();
            await _accepting;
            _stop.Dispose();
        }
    }
}
