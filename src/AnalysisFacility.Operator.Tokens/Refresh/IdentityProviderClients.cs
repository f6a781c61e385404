using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace AnalysisFacility.Operator.Tokens.Refresh;

/// <summary>
/// HTTP clients for identity providers' token endpoints: one that trusts the system's CAs, and one per private CA bundle
/// (an IAM whose certificate a site CA signed), kept for as long as the operator runs so connections are reused.
/// </summary>
public sealed class IdentityProviderClients : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(20);
    private readonly Lock _lock = new();
    private readonly Dictionary<string, HttpClient> _clients = new(StringComparer.Ordinal);

    /// <summary>A client trusting <paramref name="caBundlePem"/> only (PEM, one or more certificates), or the system's CAs when null.</summary>
    public HttpClient For(string? caBundlePem)
    {
        var key = caBundlePem is null ? "" : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(caBundlePem)));
        lock (_lock)
        {
            if (_clients.TryGetValue(key, out var existing)) return existing;
            var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
            if (caBundlePem is not null)
            {
                var roots = new X509Certificate2Collection();
                roots.ImportFromPem(caBundlePem);
                if (roots.Count == 0) throw new ArgumentException("the CA bundle holds no PEM certificate", nameof(caBundlePem));
                var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
                policy.CustomTrustStore.AddRange(roots);
                handler.SslOptions = new SslClientAuthenticationOptions { CertificateChainPolicy = policy };
            }
            var client = new HttpClient(handler) { Timeout = RequestTimeout };
            _clients[key] = client;
            return client;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            foreach (var client in _clients.Values) client.Dispose();
            _clients.Clear();
        }
    }
}
