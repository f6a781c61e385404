using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AnalysisFacility.Operator.Builders.Certificates;
using AnalysisFacility.Operator.IntegrationTests.Support;

namespace AnalysisFacility.Operator.IntegrationTests.XCache;

/// <summary>The CA file names the operator publishes are the ones OpenSSL itself looks certificates up by.</summary>
public class OpenSslCaDirectoryTests
{
    [Theory]
    [InlineData("CN=cms-af analysis facility CA, O=AnalysisFacility Operator")]
    [InlineData("CN=  Mixed   Case CA  , OU=Grid, O=Example  Lab, C=CH")]
    [InlineData("DC=ch, DC=cern, CN=CERN Grid Certification Authority")]
    [InlineData("CN=Ünïcödé CA, O=Éxample")]
    public async Task File_name_is_the_subject_hash_openssl_computes(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1));
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, certificate.ExportCertificatePem());
            var result = await TestProcess.RunAsync(Programs.Require("openssl"), ["x509", "-in", file, "-noout", "-subject_hash"]);
            result.ExitCode.Should().Be(0, result.Output);
            OpenSslCaDirectory.FileName(certificate.ExportCertificatePem()).Should().Be(result.StandardOutput.Trim() + ".0");
        }
        finally
        {
            File.Delete(file);
        }
    }
}
