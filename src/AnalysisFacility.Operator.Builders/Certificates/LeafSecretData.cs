namespace AnalysisFacility.Operator.Builders.Certificates;

/// <summary>
/// The kubernetes.io/tls Secret data of one leaf (tls.crt, tls.key and the CA as ca.crt): kept while valid, signed by
/// the current CA, for the right names and with the current CA beside it; re-issued otherwise.
/// </summary>
public static class LeafSecretData
{
    public const string CertificateKey = "tls.crt";
    public const string PrivateKeyKey = "tls.key";
    public const string CaCertificateKey = "ca.crt";

    public static CertificateSecretData Ensure(IDictionary<string, byte[]>? existingData, IDictionary<string, byte[]> caData,
        LeafCertificateRequest request, DateTimeOffset now, CertificateLifetimes? lifetimes = null)
    {
        using var ca = FacilityCertificateAuthority.Load(caData);
        var caPem = FacilityCertificateAuthority.CertificatePem(caData);
        PemKeyPair? stored = existingData is not null && existingData.TryGetValue(CertificateKey, out var certificate) && existingData.TryGetValue(PrivateKeyKey, out var key)
            ? new PemKeyPair(certificate, key)
            : null;
        var renewAt = LeafCertificates.RenewalTime(stored, request, ca, now, lifetimes);
        var caChanged = existingData is null || !existingData.TryGetValue(CaCertificateKey, out var storedCa) || !storedCa.AsSpan().SequenceEqual(caPem);
        if (renewAt is not null && !caChanged && existingData!.Count == 3) return new CertificateSecretData(existingData, false, renewAt.Value);

        if (renewAt is null)
        {
            stored = LeafCertificates.Issue(request, ca, now, lifetimes);
            renewAt = LeafCertificates.RenewalTime(stored, request, ca, now, lifetimes)
                ?? throw new InvalidOperationException("a freshly issued certificate is already due for renewal: the CA expires too soon");
        }
        var data = new Dictionary<string, byte[]>
        {
            [CertificateKey] = stored!.CertificatePem,
            [PrivateKeyKey] = stored.PrivateKeyPem,
            [CaCertificateKey] = caPem,
        };
        return new CertificateSecretData(data, true, renewAt.Value);
    }
}
