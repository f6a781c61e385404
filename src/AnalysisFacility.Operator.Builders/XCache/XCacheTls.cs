using System.Text;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Certificates;
using AnalysisFacility.Operator.Builders.Common;
using k8s.Models;

namespace AnalysisFacility.Operator.Builders.XCache;

/// <summary>
/// The cache's TLS server certificate (the ztn token protocol needs TLS), issued from the facility CA for the client
/// Service, the headless Service and every pod behind it. Kept in the kubernetes.io/tls Secret
/// <see cref="XCacheBuilder.TlsSecretName"/> with tls.crt, tls.key and ca.crt, as the generated xrootd config expects.
/// </summary>
public static class XCacheTls
{
    public const string CertificateKey = "tls.crt";
    public const string PrivateKeyKey = "tls.key";
    public const string CaCertificateKey = "ca.crt";

    /// <summary>Every name clients use: both Services in all their DNS forms and pod names under the headless Service.</summary>
    public static LeafCertificateRequest Request(XCacheInstance instance, string clusterDomain = "cluster.local")
    {
        var ns = instance.Metadata.NamespaceProperty;
        var dns = new List<string>();
        foreach (var service in new[] { XCacheBuilder.ObjectName(instance), XCacheBuilder.HeadlessServiceName(instance) })
        {
            dns.AddRange([service, $"{service}.{ns}", $"{service}.{ns}.svc", $"{service}.{ns}.svc.{clusterDomain}"]);
        }
        var headless = XCacheBuilder.HeadlessServiceName(instance);
        dns.AddRange([$"*.{headless}.{ns}.svc", $"*.{headless}.{ns}.svc.{clusterDomain}"]);
        return new LeafCertificateRequest(XCacheBuilder.ObjectName(instance), dns, [], ServerAuth: true, ClientAuth: true);
    }

    /// <summary>Keeps <paramref name="existingData"/> while valid, signed by the current CA and for the right names; re-issues otherwise.</summary>
    public static CertificateSecretData Ensure(IDictionary<string, byte[]>? existingData, IDictionary<string, byte[]> caData, XCacheInstance instance,
        DateTimeOffset now, CertificateLifetimes? lifetimes = null) =>
        LeafSecretData.Ensure(existingData, caData, Request(instance), now, lifetimes);

    /// <summary>The Secret holding <paramref name="data"/> (from <see cref="Ensure"/>).</summary>
    public static V1Secret BuildSecret(XCacheInstance instance, IDictionary<string, byte[]> data) => new()
    {
        ApiVersion = "v1",
        Kind = V1Secret.KubeKind,
        Type = "kubernetes.io/tls",
        Metadata = new V1ObjectMeta
        {
            Name = XCacheBuilder.TlsSecretName(instance),
            NamespaceProperty = instance.Metadata.NamespaceProperty,
            Labels = Labels.For(XCacheBuilder.Application, instance.Metadata.Name, "tls", instance.Spec.Authorization?.FacilityRef ?? ""),
        },
        Data = new Dictionary<string, byte[]>(data),
    };

    /// <summary>The public ConfigMap with the CA that signed the cache's certificate, for clients (sessions, Dask workers).</summary>
    public static string CaConfigMapName(string instanceName) => Names.Object(instanceName, "xcache-ca");

    /// <summary>
    /// The CA certificate under its OpenSSL hashed name, so the ConfigMap mounted as a directory is an X509_CERT_DIR
    /// the XRootD client verifies the cache with (XrdCl takes a CA directory, not a file). Only the certificate: never the key.
    /// </summary>
    public static V1ConfigMap BuildCaConfigMap(XCacheInstance instance, string caPem) => new()
    {
        ApiVersion = "v1",
        Kind = V1ConfigMap.KubeKind,
        Metadata = new V1ObjectMeta
        {
            Name = CaConfigMapName(instance.Metadata.Name),
            NamespaceProperty = instance.Metadata.NamespaceProperty,
            Labels = Labels.For(XCacheBuilder.Application, instance.Metadata.Name, "ca", instance.Spec.Authorization?.FacilityRef ?? ""),
        },
        Data = new Dictionary<string, string> { [OpenSslCaDirectory.FileName(caPem)] = caPem },
    };

    /// <summary>Placeholder data for `render`, where no CA is at hand.</summary>
    public static IDictionary<string, byte[]> Placeholder(string text) =>
        new[] { CertificateKey, PrivateKeyKey, CaCertificateKey }.ToDictionary(k => k, _ => Encoding.ASCII.GetBytes(text));
}
