using System.Security.Cryptography;

namespace AnalysisFacility.Operator.Builders.Facility;

/// <summary>A token subject the issuer minted for a hub user: the HTCondor map file maps it to that user.</summary>
public sealed record ScitokensIdentity(string Subject, string User);

/// <summary>
/// Everything the facility builders need that is not in the spec: where the operator's issuer runs, the
/// spawner module's ConfigMap, the issuer's subjects, and the data of Secrets that already exist (so generated
/// passwords are kept instead of regenerated on every reconcile).
/// </summary>
public sealed record FacilityContext
{
    /// <summary>DNS name of the operator's issuer Service, e.g. analysisfacility-operator.af-system.svc.cluster.local.</summary>
    public required string IssuerServiceHost { get; init; }

    /// <summary>Port of the operator's issuer Service.</summary>
    public int IssuerServicePort { get; init; } = 8080;

    /// <summary>ConfigMap holding the module analysisfacility_spawner.py (the UserSession spawner).</summary>
    public string SpawnerConfigMapName { get; init; } = "analysisfacility-spawner";

    /// <summary>Token issuer HTCondor trusts; the facility's spec.tokens.issuer when null.</summary>
    public string? ScitokensIssuer { get; init; }

    /// <summary>Subjects minted by the issuer and the hub users they belong to.</summary>
    public IReadOnlyList<ScitokensIdentity> ScitokensIdentities { get; init; } = [];

    /// <summary>
    /// Data of the collector's and schedd's SSL Secret (tls.crt, tls.key, ca.crt; see <see cref="HTCondorTls"/>), issued by
    /// the controller from the facility CA. The pool is not built without it.
    /// </summary>
    public IDictionary<string, byte[]>? CondorTls { get; init; }

    /// <summary>Data of Secrets that exist already, by Secret name. Generated values found here are kept.</summary>
    public IReadOnlyDictionary<string, IDictionary<string, byte[]>> ExistingSecrets { get; init; } =
        new Dictionary<string, IDictionary<string, byte[]>>();

    /// <summary>Source of new random secret values (URL-safe text of the given byte count); replaceable in tests.</summary>
    public Func<int, string> NewSecretValue { get; init; } = DefaultSecretValue;

    /// <summary>Returns the existing value of <paramref name="key"/> in Secret <paramref name="secretName"/>, or a new one.</summary>
    public byte[] KeepOrGenerate(string secretName, string key, int bytes = 32)
    {
        if (ExistingSecrets.TryGetValue(secretName, out var data) && data.TryGetValue(key, out var value) && value.Length > 0)
        {
            return value;
        }
        return System.Text.Encoding.UTF8.GetBytes(NewSecretValue(bytes));
    }

    private static string DefaultSecretValue(int bytes) =>
        Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(bytes));
}
