using AnalysisFacility.Operator.Builders.Certificates;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Client;
using k8s.Models;

namespace AnalysisFacility.Operator.Controllers.Dask;

/// <summary>
/// The facility CA Secret the facility controller keeps (PEM under tls.crt/tls.key, named &lt;facility&gt;-ca, as its
/// FacilitySecrets.CaSecretName). Dask and XCache controllers only read it to sign their leaf certificates.
/// </summary>
public static class FacilityCa
{
    /// <summary>
    /// The CA data, or null when the Secret does not exist (yet) or lacks the keys. Reads the shared cache first; a CA
    /// Secret without the managed-by label is not cached, so fall back to a GET (a read, never a write).
    /// </summary>
    public static async Task<IDictionary<string, byte[]>?> ReadAsync(Informer<V1Secret> secrets, KubernetesApi api, string @namespace,
        string facility, CancellationToken cancellationToken)
    {
        var name = Facility.FacilitySecrets.CaSecretName(facility);
        var secret = secrets.Get(new ObjectKey(@namespace, name));
        if (secret is null)
        {
            secret = await api.GetAsync<V1Secret>(@namespace, name, cancellationToken);
            if (secret is null) return null;
        }
        var data = secret.Data;
        return data is not null && data.ContainsKey(FacilityCertificateAuthority.CertificateKey) && data.ContainsKey(FacilityCertificateAuthority.PrivateKeyKey)
            ? data
            : null;
    }
}
