using System.Net;
using System.Net.Sockets;
using k8s.Models;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>One probe of a container, evaluated for real against the pod's address or inside the container.</summary>
public static class Probe
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler
    {
        // As the kubelet: HTTPS probes do not verify the certificate, redirects to other hosts count as success.
        SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        AllowAutoRedirect = false,
        UseProxy = false,
    });

    public delegate Task<int> ExecInContainer(IReadOnlyList<string> command, TimeSpan timeout, CancellationToken ct);

    public static async Task<bool> RunAsync(V1Probe probe, IPAddress podIp, V1Container container, ExecInContainer exec, CancellationToken ct)
    {
        var timeout = TimeSpan.FromSeconds(probe.TimeoutSeconds ?? 1);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            if (probe.HttpGet is { } http)
            {
                var scheme = (http.Scheme ?? "HTTP").ToLowerInvariant();
                var host = http.Host is { Length: > 0 } h ? h : podIp.ToString();
                var path = http.Path is { Length: > 0 } p ? (p.StartsWith('/') ? p : "/" + p) : "/";
                using var request = new HttpRequestMessage(HttpMethod.Get, $"{scheme}://{host}:{Port(http.Port, container)}{path}");
                foreach (var header in http.HttpHeaders ?? []) request.Headers.TryAddWithoutValidation(header.Name, header.Value);
                using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
                return (int)response.StatusCode is >= 200 and < 400;
            }
            if (probe.TcpSocket is { } tcp)
            {
                using var client = new TcpClient();
                var host = tcp.Host is { Length: > 0 } h ? IPAddress.Parse(h) : podIp;
                await client.ConnectAsync(host, Port(tcp.Port, container), cts.Token);
                return true;
            }
            if (probe.Exec is { } execAction)
            {
                return await exec(execAction.Command.ToList(), timeout, cts.Token) == 0;
            }
            return true;
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or OperationCanceledException or IOException)
        {
            return false;
        }
    }

    /// <summary>A probe port: a number, or the name of one of the container's ports.</summary>
    public static int Port(IntOrString port, V1Container container)
    {
        var value = port.Value;
        if (int.TryParse(value, out var number)) return number;
        return container.Ports?.FirstOrDefault(p => p.Name == value)?.ContainerPort
               ?? throw new InvalidOperationException($"container {container.Name} has no port named '{value}'");
    }
}
