using System.Net;
using AnalysisFacility.Operator.Builders.Certificates;

namespace AnalysisFacility.Operator.Builders.Dask;

/// <summary>
/// The TLS material of one Dask cluster, kept in one Secret: the facility CA certificate, the scheduler's key pair and a
/// key pair for workers and clients (workers also accept connections from peers, so it carries both EKUs).
/// </summary>
public static class DaskTls
{
    public const string CaCertificateKey = "ca.crt";
    public const string SchedulerCertificateKey = "scheduler.crt";
    public const string SchedulerPrivateKeyKey = "scheduler.key";
    public const string ClientCertificateKey = "client.crt";
    public const string ClientPrivateKeyKey = "client.key";

    /// <summary>The scheduler certificate's names: every form of the Service DNS name, the external name and loopback.</summary>
    public static LeafCertificateRequest SchedulerRequest(string clusterName, string @namespace, string? externalHost)
    {
        var service = DaskNames.Scheduler(clusterName);
        var dns = new List<string> { service, $"{service}.{@namespace}", $"{service}.{@namespace}.svc", $"{service}.{@namespace}.svc.cluster.local" };
        if (externalHost is not null) dns.Add(externalHost);
        dns.Add("localhost");
        return new LeafCertificateRequest(service, dns, [IPAddress.Loopback, IPAddress.IPv6Loopback], ServerAuth: true, ClientAuth: true);
    }

    /// <summary>The worker/client certificate: no host names (Dask does not check them), usable both ways.</summary>
    public static LeafCertificateRequest ClientRequest(string clusterName) =>
        new($"{clusterName}-dask-client", [], [], ServerAuth: true, ClientAuth: true);

    /// <summary>
    /// Returns <paramref name="existingData"/> unchanged while both key pairs are still valid, signed by the current CA and
    /// carry the expected names; otherwise re-issues what is stale. <paramref name="caData"/> is the facility CA Secret's data.
    /// </summary>
    public static CertificateSecretData Ensure(IDictionary<string, byte[]>? existingData, IDictionary<string, byte[]> caData,
        string clusterName, string @namespace, string? externalHost, DateTimeOffset now, CertificateLifetimes? lifetimes = null)
    {
        using var ca = FacilityCertificateAuthority.Load(caData);
        var caPem = FacilityCertificateAuthority.CertificatePem(caData);
        var data = new Dictionary<string, byte[]>();
        var changed = existingData is null || !existingData.TryGetValue(CaCertificateKey, out var storedCa) || !storedCa.AsSpan().SequenceEqual(caPem);
        data[CaCertificateKey] = caPem;

        var renewAt = DateTimeOffset.MaxValue;
        foreach (var (request, certificateKey, privateKeyKey) in new[]
                 {
                     (SchedulerRequest(clusterName, @namespace, externalHost), SchedulerCertificateKey, SchedulerPrivateKeyKey),
                     (ClientRequest(clusterName), ClientCertificateKey, ClientPrivateKeyKey),
                 })
        {
            var stored = Read(existingData, certificateKey, privateKeyKey);
            var pairRenewAt = LeafCertificates.RenewalTime(stored, request, ca, now, lifetimes);
            if (pairRenewAt is null)
            {
                stored = LeafCertificates.Issue(request, ca, now, lifetimes);
                pairRenewAt = LeafCertificates.RenewalTime(stored, request, ca, now, lifetimes)
                    ?? throw new InvalidOperationException("a freshly issued certificate is already due for renewal: the CA expires too soon");
                changed = true;
            }
            data[certificateKey] = stored!.CertificatePem;
            data[privateKeyKey] = stored.PrivateKeyPem;
            if (pairRenewAt < renewAt) renewAt = pairRenewAt.Value;
        }

        if (existingData is not null && existingData.Keys.Any(key => !data.ContainsKey(key))) changed = true;
        return new CertificateSecretData(changed ? data : existingData!, changed, renewAt);
    }

    private static PemKeyPair? Read(IDictionary<string, byte[]>? data, string certificateKey, string privateKeyKey) =>
        data is not null && data.TryGetValue(certificateKey, out var certificate) && data.TryGetValue(privateKeyKey, out var key)
            ? new PemKeyPair(certificate, key)
            : null;
}
