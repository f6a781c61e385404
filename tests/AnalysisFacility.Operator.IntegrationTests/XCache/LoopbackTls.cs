using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AnalysisFacility.Operator.IntegrationTests.Support;

namespace AnalysisFacility.Operator.IntegrationTests.XCache;

/// <summary>
/// A throw-away CA and a server certificate for 127.0.0.1, written as PEM files the way the pod's TLS Secret
/// mounts them (tls.crt, tls.key, ca.crt), plus an OpenSSL hashed CA directory for xrootd clients (X509_CERT_DIR).
/// </summary>
internal sealed class LoopbackTls
{
    private LoopbackTls(string directory, string caDirectory, string caPem)
    {
        Directory = directory;
        CaDirectory = caDirectory;
        CaPem = caPem;
    }

    /// <summary>Holds tls.crt, tls.key and ca.crt.</summary>
    public string Directory { get; }
    /// <summary>Hashed CA directory (openssl rehash) for X509_CERT_DIR.</summary>
    public string CaDirectory { get; }
    public string CaPem { get; }

    public static async Task<LoopbackTls> CreateAsync(string directory, CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(directory);
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=XCache integration test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        names.AddDnsName("localhost");
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        serverRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var server = serverRequest.Create(ca, now.AddMinutes(-5), now.AddDays(1), RandomNumberGenerator.GetBytes(16));

        var caPem = ca.ExportCertificatePem();
        await File.WriteAllTextAsync(Path.Combine(directory, "ca.crt"), caPem + "\n", cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, "tls.crt"), server.ExportCertificatePem() + "\n", cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(directory, "tls.key"), serverKey.ExportPkcs8PrivateKeyPem() + "\n", cancellationToken);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(Path.Combine(directory, "tls.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var caDirectory = Path.Combine(directory, "certificates");
        System.IO.Directory.CreateDirectory(caDirectory);
        await File.WriteAllTextAsync(Path.Combine(caDirectory, "test-ca.pem"), caPem + "\n", cancellationToken);
        var (exitCode, output) = await TestProcess.RunAsync(Programs.Require("openssl"), ["rehash", caDirectory], cancellationToken: cancellationToken);
        exitCode.Should().Be(0, output);
        return new LoopbackTls(directory, caDirectory, caPem);
    }
}
