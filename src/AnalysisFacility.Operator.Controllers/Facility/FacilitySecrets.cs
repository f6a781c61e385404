using AnalysisFacility.Operator.Builders.Common;

namespace AnalysisFacility.Operator.Controllers.Facility;

/// <summary>
/// Names of the per-facility objects other controllers read: the signing key ring (session controller mints with it)
/// and the facility CA (Dask and XCache controllers sign leaf certificates with it). Both live in the facility's
/// namespace and are owned by the facility.
/// </summary>
public static class FacilitySecrets
{
    /// <summary>Secret holding the issuer's key ring (<c>KeyRingSecret</c> layout): <c>&lt;facility&gt;-issuer-keys</c>.</summary>
    public static string IssuerKeysSecretName(string facility) => Names.Object(facility, "issuer-keys");

    /// <summary>Secret holding the facility CA as PEM under tls.crt / tls.key: <c>&lt;facility&gt;-ca</c>.</summary>
    public static string CaSecretName(string facility) => Names.Object(facility, "ca");

    /// <summary>ConfigMap with the hub's spawner module (one per facility, so facilities sharing a namespace do not fight over it).</summary>
    public static string SpawnerConfigMapName(string facility) => Names.Object(facility, "spawner");
}
