using System.Security.Cryptography.X509Certificates;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Certificates;
using AnalysisFacility.Operator.Builders.XCache;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.Operator.Controllers.XCache;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Tests.XCacheController;

public sealed class XCacheRenderingTests
{
    private static XCacheInstance Instance(string low = "0.90", string high = "0.95") => new()
    {
        Metadata = new V1ObjectMeta { Name = "cache", NamespaceProperty = "af" },
        Spec = new XCacheInstanceSpec
        {
            Origin = "root://origin.example.org", Watermarks = new XCacheWatermarks { Low = low, High = high },
            Authorization = new XCacheAuthorization { FacilityRef = "cms-af" },
        },
    };

    private static readonly RenderSet Set = new()
    {
        Facilities =
        [
            new FacilityResource
            {
                Metadata = new V1ObjectMeta { Name = "cms-af", NamespaceProperty = "af", Uid = "u1" },
                Spec = new AnalysisFacilitySpec { Tokens = new TokenIssuerSpec { Issuer = "https://af.example.org/issuer", AllowAnyAudience = true, Audiences = ["https://xcache.example.org"] } },
            },
        ],
    };

    [Fact]
    public void Renders_the_cache_trusting_the_facility_issuer_and_its_audiences()
    {
        var objects = XCachePlanning.Render(Instance(), Set);
        objects.Select(o => o.Kind).Should().BeEquivalentTo(["ConfigMap", "Service", "Service", "StatefulSet", "Secret"]);
        var scitokens = objects.OfType<V1ConfigMap>().Single().Data[XCacheLayout.ScitokensConfigFile];
        scitokens.Should().Contain("https://af.example.org/issuer").And.Contain("https://xcache.example.org").And.Contain("https://wlcg.cern.ch/jwt/v1/any");
    }

    [Fact]
    public void Watermarks_out_of_order_are_refused()
    {
        FluentActions.Invoking(() => XCachePlanning.Render(Instance("0.97", "0.95"), Set))
            .Should().Throw<ArgumentException>().WithMessage("*spec.watermarks*");
    }

    [Fact]
    public void Tls_certificate_covers_both_services_and_the_pods_and_is_kept_while_valid()
    {
        var now = DateTimeOffset.UtcNow;
        var ca = FacilityCertificateAuthority.Ensure(null, "cms-af", now).Data;
        var first = XCacheTls.Ensure(null, ca, Instance(), now);
        first.Changed.Should().BeTrue();
        XCacheTls.Ensure(first.Data, ca, Instance(), now.AddDays(1)).Changed.Should().BeFalse();
        using var certificate = X509Certificate2.CreateFromPem(System.Text.Encoding.ASCII.GetString(first.Data["tls.crt"]));
        var names = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().EnumerateDnsNames().ToList();
        names.Should().Contain(["cache-xcache.af.svc", "cache-xcache-pods.af.svc.cluster.local", "*.cache-xcache-pods.af.svc.cluster.local"]);
        XCacheTls.Ensure(first.Data, FacilityCertificateAuthority.Ensure(null, "other", now).Data, Instance(), now).Changed.Should().BeTrue("a new CA re-issues");
    }
}
