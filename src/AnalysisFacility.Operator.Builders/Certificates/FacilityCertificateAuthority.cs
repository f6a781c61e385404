using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace AnalysisFacility.Operator.Builders.Certificates;

/// <summary>
/// The per-facility CA (ECDSA P-256) that signs Dask scheduler, worker and client certificates.
/// It lives in a Secret as PEM under <c>tls.crt</c>/<c>tls.key</c> (the kubernetes.io/tls layout).
/// </summary>
public static class FacilityCertificateAuthority
{
    public const string CertificateKey = "tls.crt";
    public const string PrivateKeyKey = "tls.key";

    /// <summary>The subject common name of a facility's CA.</summary>
    public static string SubjectName(string facilityName) => $"CN={facilityName} analysis facility CA, O=AnalysisFacility Operator";

    /// <summary>
    /// Returns <paramref name="existingData"/> unchanged when it holds a usable CA for this facility (parses, key matches,
    /// not within <see cref="CertificateLifetimes.CaRenewBefore"/> of expiry); otherwise a new CA.
    /// </summary>
    public static CertificateSecretData Ensure(IDictionary<string, byte[]>? existingData, string facilityName,
        DateTimeOffset now, CertificateLifetimes? lifetimes = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(facilityName);
        lifetimes ??= CertificateLifetimes.Default;

        if (existingData is not null && TryLoad(existingData, out var existing))
        {
            using (existing)
            {
                var renewAt = new DateTimeOffset(existing.NotAfter.ToUniversalTime()) - lifetimes.CaRenewBefore;
                if (IsUsableCa(existing) && existing.SubjectName.Name == new X500DistinguishedName(SubjectName(facilityName)).Name
                    && new DateTimeOffset(existing.NotBefore.ToUniversalTime()) <= now && now < renewAt)
                {
                    return new CertificateSecretData(existingData, Changed: false, renewAt);
                }
            }
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(SubjectName(facilityName), key, HashAlgorithmName.SHA256);
        // pathLen 0: this CA signs leaves only, never another CA.
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var notBefore = now - lifetimes.ClockSkew;
        using var certificate = request.CreateSelfSigned(notBefore, now + lifetimes.CaLifetime);
        var data = new Dictionary<string, byte[]>
        {
            [CertificateKey] = Encoding.ASCII.GetBytes(certificate.ExportCertificatePem() + "\n"),
            [PrivateKeyKey] = Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem() + "\n"),
        };
        return new CertificateSecretData(data, Changed: true, now + lifetimes.CaLifetime - lifetimes.CaRenewBefore);
    }

    /// <summary>Loads the CA certificate with its private key (for signing). The caller disposes it.</summary>
    public static X509Certificate2 Load(IDictionary<string, byte[]> caData)
    {
        if (!TryLoad(caData, out var certificate))
        {
            throw new ArgumentException($"CA secret data must hold a PEM certificate under '{CertificateKey}' and its PEM private key under '{PrivateKeyKey}'.", nameof(caData));
        }
        return certificate;
    }

    /// <summary>The CA certificate alone as PEM (what peers trust: ca.crt).</summary>
    public static byte[] CertificatePem(IDictionary<string, byte[]> caData) =>
        caData.TryGetValue(CertificateKey, out var pem)
            ? pem
            : throw new ArgumentException($"CA secret data has no '{CertificateKey}'.", nameof(caData));

    private static bool TryLoad(IDictionary<string, byte[]> data, out X509Certificate2 certificate)
    {
        certificate = null!;
        if (!data.TryGetValue(CertificateKey, out var certificatePem) || !data.TryGetValue(PrivateKeyKey, out var keyPem)) return false;
        try
        {
            // CreateFromPem refuses a key that does not belong to the certificate.
            certificate = X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(certificatePem), Encoding.ASCII.GetString(keyPem));
            return true;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            return false;
        }
    }

    private static bool IsUsableCa(X509Certificate2 certificate)
    {
        var constraints = certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
        var usage = certificate.Extensions.OfType<X509KeyUsageExtension>().FirstOrDefault();
        using var publicKey = certificate.GetECDsaPublicKey();
        return constraints is { CertificateAuthority: true }
            && usage is not null && usage.KeyUsages.HasFlag(X509KeyUsageFlags.KeyCertSign)
            && publicKey is not null;
    }
}
