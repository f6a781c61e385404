using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Tokens.Issuance;
using AnalysisFacility.Operator.Tokens.Keys;
using k8s.Models;

namespace AnalysisFacility.Operator.Controllers.Facility;

/// <summary>Reads a facility's issuer key ring for controllers that mint with it (sessions, the XCache robot token).</summary>
public static class IssuerKeyRings
{
    /// <summary>
    /// The parsed key ring, null when the Secret does not exist yet. The shared cache first; a Secret not (yet) labelled
    /// as managed is read directly rather than waited for.
    /// </summary>
    public static async Task<IssuanceResult<KeyRing>?> ReadAsync(Informer<V1Secret> secrets, KubernetesApi api, KeyRingCache rings,
        string @namespace, string facility, CancellationToken cancellationToken)
    {
        var name = FacilitySecrets.IssuerKeysSecretName(facility);
        var secret = secrets.Get(new ObjectKey(@namespace, name));
        if (secret?.Data is null)
        {
            secret = await api.GetAsync<V1Secret>(@namespace, name, cancellationToken);
            if (secret is null) return null;
        }
        return rings.Read(secret);
    }
}
