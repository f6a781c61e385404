using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Tokens;
using AnalysisFacility.Operator.Builders.XCache;
using AnalysisFacility.Operator.Controllers.XCache;
using AnalysisFacility.Operator.Tokens.Jose;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Tests.XCache;

public class XCacheOriginCredentialsTests
{
    private static XCacheInstance WithCredentials(XCacheOriginCredentials credentials) =>
        XCacheBuilderTests.Instance(spec => spec.OriginCredentials = credentials);

    private static k8s.Models.V1PodSpec Pod(XCacheInstance instance)
    {
        var result = XCacheBuilder.Build(instance);
        result.Errors.Should().BeEmpty();
        return result.Resources!.StatefulSet.Spec.Template.Spec;
    }

    private static Dictionary<string, string> XrootdEnvironment(k8s.Models.V1PodSpec pod) =>
        pod.Containers.Single(c => c.Name == XCacheBuilder.ContainerName).Env.ToDictionary(e => e.Name, e => e.Value);

    [Fact]
    public void Robot_token_is_copied_from_the_cache_secret_into_a_private_file_named_by_BEARER_TOKEN_FILE()
    {
        var pod = Pod(WithCredentials(new XCacheOriginCredentials { Token = new XCacheOriginToken { FacilityRef = "cms-af", Audience = "https://origin.example" } }));

        var env = XrootdEnvironment(pod);
        env["BEARER_TOKEN_FILE"].Should().Be(TokenDelivery.TokenFile(XCacheBuilder.XrootdUserId));
        env["X509_CERT_DIR"].Should().Be(XCacheOriginClient.GridCaDirectory);
        env.Should().NotContainKey("X509_USER_PROXY");
        pod.InitContainers.Should().ContainSingle(c => c.Name == TokenDelivery.InitContainerName);
        pod.Containers.Should().Contain(c => c.Name == TokenDelivery.RefresherContainerName);
        var source = pod.Volumes.Single(v => v.Secret != null && v.Secret.SecretName == XCacheOriginClient.RobotTokenSecretName("cms-cache"));
        source.Secret.Items.Single().Key.Should().Be(TokenDelivery.TokenKey);
        pod.InitContainers.Single().SecurityContext.RunAsUser.Should().Be(XCacheBuilder.XrootdUserId, "the file must belong to the xrootd account");
    }

    [Fact]
    public void Proxy_is_copied_byte_for_byte_and_named_by_X509_USER_PROXY_with_the_admin_CA_directory()
    {
        var pod = Pod(WithCredentials(new XCacheOriginCredentials
        {
            X509Proxy = new XCacheOriginProxy { SecretName = "cms-robot-proxy", Key = "proxy.pem" },
            CaCertificatesConfigMap = "igtf-ca",
        }));

        var env = XrootdEnvironment(pod);
        env["X509_USER_PROXY"].Should().Be(TokenDelivery.ProxyFile(XCacheBuilder.XrootdUserId));
        env["X509_CERT_DIR"].Should().Be(XCacheOriginClient.OriginCaDirectory);
        env.Should().NotContainKey("BEARER_TOKEN_FILE");
        var init = pod.InitContainers.Single();
        init.Env.Should().Contain(e => e.Name == "RAW" && e.Value == "1", "whitespace is part of a PEM proxy");
        init.Env.Should().NotContain(e => e.Name == "LINK");
        pod.Volumes.Single(v => v.Secret != null && v.Secret.SecretName == "cms-robot-proxy").Secret.Items.Single().Key.Should().Be("proxy.pem");
        pod.Volumes.Single(v => v.Name == XCacheOriginClient.OriginCaVolume).ConfigMap.Name.Should().Be("igtf-ca");
    }

    [Fact]
    public void Without_origin_credentials_the_cache_pod_has_no_credential_helpers()
    {
        var pod = Pod(XCacheBuilderTests.Instance());
        pod.InitContainers.Should().BeNullOrEmpty();
        XrootdEnvironment(pod).Keys.Should().NotContain(["BEARER_TOKEN_FILE", "X509_USER_PROXY", "X509_CERT_DIR"]);
    }

    [Theory]
    [InlineData("both", "set exactly one of token and x509Proxy")]
    [InlineData("no-audience", "token.audience: missing")]
    [InlineData("facility-and-secret", "set exactly one of facilityRef")]
    [InlineData("audience-with-secret", "only apply to a robot token")]
    [InlineData("bad-scope", "token.scopes[0]")]
    [InlineData("bad-key", "is not a Secret key")]
    public void Invalid_origin_credentials_are_reported_with_the_field(string variant, string expected)
    {
        var credentials = variant switch
        {
            "both" => new XCacheOriginCredentials
            {
                Token = new XCacheOriginToken { FacilityRef = "cms-af", Audience = "https://o" },
                X509Proxy = new XCacheOriginProxy { SecretName = "p" },
            },
            "no-audience" => new XCacheOriginCredentials { Token = new XCacheOriginToken { FacilityRef = "cms-af" } },
            "facility-and-secret" => new XCacheOriginCredentials
            {
                Token = new XCacheOriginToken { FacilityRef = "cms-af", Audience = "https://o", SecretRef = new SecretKeyReference { Name = "t", Key = "token" } },
            },
            "audience-with-secret" => new XCacheOriginCredentials
            {
                Token = new XCacheOriginToken { Audience = "https://o", SecretRef = new SecretKeyReference { Name = "t", Key = "token" } },
            },
            "bad-scope" => new XCacheOriginCredentials { Token = new XCacheOriginToken { FacilityRef = "cms-af", Audience = "https://o", Scopes = ["storage.read:store"] } },
            _ => new XCacheOriginCredentials { X509Proxy = new XCacheOriginProxy { SecretName = "p", Key = "a key" } },
        };
        var errors = XCacheValidator.Validate(WithCredentials(credentials));
        errors.Should().Contain(e => e.Contains("spec.originCredentials") && e.Contains(expected));
    }

    [Fact]
    public void Robot_token_is_for_the_origin_audience_and_reads_the_exported_paths_with_the_facility_issuer()
    {
        var instance = WithCredentials(new XCacheOriginCredentials { Token = new XCacheOriginToken { FacilityRef = "cms-af", Audience = "https://origin.example" } });
        instance.Spec.ExportedPaths = ["/store/data", "/store/mc"];
        var facility = new FacilityResource
        {
            Metadata = new() { Name = "cms-af", NamespaceProperty = "af", Uid = "uid-1" },
            Spec = new AnalysisFacilitySpec { Tokens = new TokenIssuerSpec { Issuer = "https://af.example.org/issuer", Audiences = ["https://xcache.example"], Lifetime = "2h" } },
        };
        var (settings, request, errors) = XCachePlanning.RobotToken(instance, facility);
        errors.Should().BeEmpty();
        settings!.Issuer.Should().Be("https://af.example.org/issuer");
        settings.Audiences.Should().Equal("https://origin.example");
        settings.Lifetime.Should().Be(TimeSpan.FromHours(2));
        settings.ScopesFor(request.StoreName, request.Groups).Should().Equal("storage.read:/store/data", "storage.read:/store/mc");
        request.UserName.Should().Be("xcache.cms-cache");
    }

    [Fact]
    public void Provided_credentials_are_judged_missing_invalid_expired_or_valid()
    {
        var now = new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
        var proxy = ProxyPem(now.AddHours(12));
        OriginCredentialCheck.Evaluate(OriginCredentialSource.X509Proxy, "p", "x509up", null, now).Reason.Should().Be("CredentialSecretMissing");
        OriginCredentialCheck.Evaluate(OriginCredentialSource.X509Proxy, "p", "x509up", new Dictionary<string, byte[]> { ["other"] = proxy }, now)
            .Reason.Should().Be("CredentialSecretMissing");
        OriginCredentialCheck.Evaluate(OriginCredentialSource.X509Proxy, "p", "x509up", new Dictionary<string, byte[]> { ["x509up"] = "junk"u8.ToArray() }, now)
            .Reason.Should().Be("ProxyInvalid");
        var valid = OriginCredentialCheck.Evaluate(OriginCredentialSource.X509Proxy, "p", "x509up", new Dictionary<string, byte[]> { ["x509up"] = proxy }, now);
        valid.Usable.Should().BeTrue();
        valid.Message.Should().Contain("2026-12-04T00:00:00Z");
        var expired = OriginCredentialCheck.Evaluate(OriginCredentialSource.X509Proxy, "p", "x509up", new Dictionary<string, byte[]> { ["x509up"] = proxy }, now.AddHours(13));
        expired.Usable.Should().BeFalse();
        expired.Reason.Should().Be("ProxyExpired");

        var token = Encoding.ASCII.GetBytes($"{Base64Url.Encode("{}"u8)}.{Base64Url.Encode(Encoding.ASCII.GetBytes($"{{\"exp\":{now.AddMinutes(20).ToUnixTimeSeconds()}}}"))}.sig");
        var fresh = OriginCredentialCheck.Evaluate(OriginCredentialSource.TokenSecret, "t", "token", new Dictionary<string, byte[]> { ["token"] = token }, now);
        fresh.Usable.Should().BeTrue();
        fresh.RecheckIn.Should().BeLessThanOrEqualTo(OriginCredentialCheck.Recheck);
        OriginCredentialCheck.Evaluate(OriginCredentialSource.TokenSecret, "t", "token", new Dictionary<string, byte[]> { ["token"] = token }, now.AddMinutes(21))
            .Reason.Should().Be("TokenExpired");
    }

    private static byte[] ProxyPem(DateTimeOffset notAfter)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=cms robot, CN=proxy", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(notAfter.AddDays(-1), notAfter);
        return Encoding.ASCII.GetBytes(certificate.ExportCertificatePem() + "\n" + key.ExportPkcs8PrivateKeyPem() + "\n");
    }
}
