using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.Tokens.Discovery;
using AnalysisFacility.Operator.Tokens.Grants;
using AnalysisFacility.Operator.Tokens.Keys;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace AnalysisFacility.Operator.IntegrationTests.Tokens;

/// <summary>
/// The operator's issuer endpoints served over HTTPS on 127.0.0.1 with a throw-away test CA, for tests of token
/// consumers (scitokens-cpp, xrootd). Publish a key ring, mint with <see cref="IssuerUrl"/>, run the consumer via
/// <see cref="TrustingCommand"/> so it trusts the test CA. Dispose stops the server and deletes the CA files.
/// </summary>
public sealed class LoopbackIssuer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _directory;

    private LoopbackIssuer(WebApplication app, string directory, int port, string issuerPath, IssuerRegistry registry)
    {
        _app = app;
        _directory = directory;
        Port = port;
        Registry = registry;
        IssuerUrl = $"https://127.0.0.1:{port}{issuerPath}";
        CaBundlePath = Path.Combine(directory, "test-ca.pem");
    }

    public int Port { get; }
    public string IssuerUrl { get; }
    public IssuerRegistry Registry { get; }

    /// <summary>PEM file with the test CA that signed the server certificate (for 127.0.0.1 and localhost).</summary>
    public string CaBundlePath { get; }

    /// <summary>A scratch directory removed on dispose (use it for HOME / XDG_CACHE_HOME of consumers).</summary>
    public string NewScratchDirectory()
    {
        var path = Path.Combine(_directory, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    public static async Task<LoopbackIssuer> StartAsync(string issuerPath = "/issuer/test", CancellationToken cancellationToken = default)
    {
        var directory = Path.Combine(Path.GetTempPath(), "loopback-issuer-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var (caPem, serverCertificate) = CreateCertificates();
        await File.WriteAllTextAsync(Path.Combine(directory, "test-ca.pem"), caPem, cancellationToken);

        var port = Ports.GetFree();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, port, listen => listen.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificate = serverCertificate })));
        var registry = new IssuerRegistry();
        var app = builder.Build();
        app.MapIssuerEndpoints(registry);
        // The robot token endpoint exactly as OperatorHost maps it.
        app.MapTokenEndpoint(registry, new FailedAuthenticationLimiter(), Serilog.Log.Logger);
        await app.StartAsync(cancellationToken);
        return new LoopbackIssuer(app, directory, port, issuerPath, registry);
    }

    /// <summary>Serves <paramref name="ring"/> as this issuer's JWKS (call again after every rotation), and its robots' token endpoint.</summary>
    public void Publish(KeyRing ring, RobotGrants? robots = null)
    {
        var error = Registry.Publish("test/loopback", IssuerUrl, ring, robots);
        if (error is not null) throw new InvalidOperationException(error);
    }

    /// <summary>The command line that runs <paramref name="program"/> trusting the test CA (<see cref="TestCaTrust"/>).</summary>
    public (string FileName, IReadOnlyList<string> Arguments) TrustingCommand(string program, IEnumerable<string> arguments) =>
        TestCaTrust.Command(CaBundlePath, program, arguments);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }

    private static (string CaPem, X509Certificate2 Server) CreateCertificates()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=AnalysisFacility test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var signed = request.Create(ca, now.AddMinutes(-5), now.AddDays(1), RandomNumberGenerator.GetBytes(16));
        using var withKey = signed.CopyWithPrivateKey(serverKey);
        // Re-import as PKCS#12 so Kestrel gets a certificate whose private key is usable for TLS on every platform.
        var server = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
        return (ca.ExportCertificatePem(), server);
    }
}
