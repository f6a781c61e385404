using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace AnalysisFacility.Operator.Builders.Certificates;

/// <summary>What a leaf certificate must say: its name, SANs and whether it serves, connects, or both.</summary>
public sealed record LeafCertificateRequest(
    string CommonName,
    IReadOnlyList<string> DnsNames,
    IReadOnlyList<IPAddress> IpAddresses,
    bool ServerAuth,
    bool ClientAuth);

/// <summary>A PEM certificate and its PEM private key (PKCS#8).</summary>
public sealed record PemKeyPair(byte[] CertificatePem, byte[] PrivateKeyPem);

/// <summary>Issues ECDSA P-256 leaf certificates signed by the facility CA and decides when a stored one must be replaced.</summary>
public static class LeafCertificates
{
    private static readonly Oid ServerAuthOid = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuthOid = new("1.3.6.1.5.5.7.3.2");

    /// <summary>Issues a new key and certificate. <paramref name="ca"/> must carry its private key.</summary>
    public static PemKeyPair Issue(LeafCertificateRequest request, X509Certificate2 ca, DateTimeOffset now, CertificateLifetimes? lifetimes = null)
    {
        lifetimes ??= CertificateLifetimes.Default;
        if (!ca.HasPrivateKey) throw new ArgumentException("the CA certificate has no private key to sign with", nameof(ca));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(request.CommonName);
        var certificateRequest = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        certificateRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        certificateRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var usages = new OidCollection();
        if (request.ServerAuth) usages.Add(ServerAuthOid);
        if (request.ClientAuth) usages.Add(ClientAuthOid);
        certificateRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, false));
        if (request.DnsNames.Count > 0 || request.IpAddresses.Count > 0)
        {
            var names = new SubjectAlternativeNameBuilder();
            foreach (var dns in request.DnsNames) names.AddDnsName(dns);
            foreach (var ip in request.IpAddresses) names.AddIpAddress(ip);
            certificateRequest.CertificateExtensions.Add(names.Build(critical: false));
        }
        certificateRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(certificateRequest.PublicKey, false));
        certificateRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));

        // A leaf never outlives its CA.
        var notAfter = Min(now + lifetimes.LeafLifetime, new DateTimeOffset(ca.NotAfter.ToUniversalTime()));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // positive INTEGER
        using var certificate = certificateRequest.Create(ca, now - lifetimes.ClockSkew, notAfter, serial);
        return new PemKeyPair(
            Encoding.ASCII.GetBytes(certificate.ExportCertificatePem() + "\n"),
            Encoding.ASCII.GetBytes(key.ExportPkcs8PrivateKeyPem() + "\n"));
    }

    /// <summary>
    /// When the stored pair must be replaced, or null when it must be replaced now: it does not parse, the key does not
    /// match, it is not signed by <paramref name="ca"/>, its names differ from <paramref name="request"/>, or it is
    /// within the renewal window.
    /// </summary>
    public static DateTimeOffset? RenewalTime(PemKeyPair? stored, LeafCertificateRequest request, X509Certificate2 ca,
        DateTimeOffset now, CertificateLifetimes? lifetimes = null)
    {
        lifetimes ??= CertificateLifetimes.Default;
        if (stored is null) return null;
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(stored.CertificatePem), Encoding.ASCII.GetString(stored.PrivateKeyPem));
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            return null;
        }

        using (certificate)
        {
            var renewAt = new DateTimeOffset(certificate.NotAfter.ToUniversalTime()) - lifetimes.LeafRenewBefore;
            if (now >= renewAt) return null;
            if (!ChainsTo(certificate, ca, now)) return null;
            if (!HasNames(certificate, request)) return null;
            return renewAt;
        }
    }

    /// <summary>True when <paramref name="certificate"/> verifies against <paramref name="ca"/> as the only trust anchor at <paramref name="at"/>.</summary>
    public static bool ChainsTo(X509Certificate2 certificate, X509Certificate2 ca, DateTimeOffset at)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = at.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        if (!chain.Build(certificate)) return false;
        var root = chain.ChainElements[^1].Certificate;
        return root.RawDataMemory.Span.SequenceEqual(ca.RawDataMemory.Span);
    }

    private static bool HasNames(X509Certificate2 certificate, LeafCertificateRequest request)
    {
        var san = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
        var dns = san?.EnumerateDnsNames().ToHashSet(StringComparer.OrdinalIgnoreCase) ?? [];
        var ips = san?.EnumerateIPAddresses().ToHashSet() ?? [];
        return dns.SetEquals(request.DnsNames) && ips.SetEquals(request.IpAddresses)
            && certificate.GetNameInfo(X509NameType.SimpleName, false) == request.CommonName;
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
