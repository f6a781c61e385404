using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using AnalysisFacility.Operator.Builders.Certificates;
using AnalysisFacility.Operator.Builders.Dask;

namespace AnalysisFacility.Operator.Tests.Dask;

public sealed class DaskCertificatesTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static IDictionary<string, byte[]> NewCa(string facility = "cms-af") => FacilityCertificateAuthority.Ensure(null, facility, Now).Data;

    private static X509Certificate2 Certificate(IDictionary<string, byte[]> data, string key) =>
        X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(data[key]));

    [Fact]
    public void Ca_is_a_long_lived_p256_ca_certificate_with_its_key()
    {
        var result = FacilityCertificateAuthority.Ensure(null, "cms-af", Now);

        result.Changed.Should().BeTrue();
        using var ca = FacilityCertificateAuthority.Load(result.Data);
        ca.HasPrivateKey.Should().BeTrue();
        ca.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority.Should().BeTrue();
        using var key = ca.GetECDsaPublicKey();
        key!.KeySize.Should().Be(256);
        ca.NotAfter.ToUniversalTime().Should().BeAfter(Now.UtcDateTime.AddYears(9));
        ca.Subject.Should().Contain("cms-af");
        Encoding.ASCII.GetString(result.Data[FacilityCertificateAuthority.PrivateKeyKey]).Should().StartWith("-----BEGIN PRIVATE KEY-----");
    }

    [Fact]
    public void Valid_ca_is_returned_unchanged_and_replaced_when_broken_or_near_expiry()
    {
        var ca = NewCa();

        var again = FacilityCertificateAuthority.Ensure(ca, "cms-af", Now.AddDays(30));
        again.Changed.Should().BeFalse();
        again.Data.Should().BeSameAs(ca);

        var nearExpiry = FacilityCertificateAuthority.Ensure(ca, "cms-af", Now.AddDays(3650 - 300));
        nearExpiry.Changed.Should().BeTrue();
        nearExpiry.Data[FacilityCertificateAuthority.CertificateKey].Should().NotEqual(ca[FacilityCertificateAuthority.CertificateKey]);

        var otherKey = NewCa();
        var mismatched = new Dictionary<string, byte[]>
        {
            [FacilityCertificateAuthority.CertificateKey] = ca[FacilityCertificateAuthority.CertificateKey],
            [FacilityCertificateAuthority.PrivateKeyKey] = otherKey[FacilityCertificateAuthority.PrivateKeyKey],
        };
        FacilityCertificateAuthority.Ensure(mismatched, "cms-af", Now).Changed.Should().BeTrue();
        FacilityCertificateAuthority.Ensure(new Dictionary<string, byte[]> { ["tls.crt"] = "junk"u8.ToArray() }, "cms-af", Now).Changed.Should().BeTrue();
    }

    [Fact]
    public void Scheduler_certificate_names_the_service_the_external_host_and_loopback()
    {
        var data = DaskTls.Ensure(null, NewCa(), "alice", "users", "alice.dask.coffea.casa", Now).Data;

        using var scheduler = Certificate(data, DaskTls.SchedulerCertificateKey);
        var san = scheduler.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        san.EnumerateDnsNames().Should().BeEquivalentTo(
            "alice-scheduler", "alice-scheduler.users", "alice-scheduler.users.svc", "alice-scheduler.users.svc.cluster.local",
            "alice.dask.coffea.casa", "localhost");
        san.EnumerateIPAddresses().Should().BeEquivalentTo([IPAddress.Loopback, IPAddress.IPv6Loopback]);
        var usages = scheduler.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value);
        usages.Should().Contain(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    }

    [Fact]
    public void Leaf_certificates_chain_to_the_facility_ca_and_not_to_another()
    {
        var caData = NewCa();
        var data = DaskTls.Ensure(null, caData, "alice", "users", null, Now).Data;
        using var ca = FacilityCertificateAuthority.Load(caData);
        using var otherCa = FacilityCertificateAuthority.Load(NewCa("other"));

        foreach (var key in new[] { DaskTls.SchedulerCertificateKey, DaskTls.ClientCertificateKey })
        {
            using var leaf = Certificate(data, key);
            LeafCertificates.ChainsTo(leaf, ca, Now).Should().BeTrue();
            LeafCertificates.ChainsTo(leaf, otherCa, Now).Should().BeFalse();
            LeafCertificates.ChainsTo(leaf, ca, Now.AddDays(91)).Should().BeFalse("a leaf lives 90 days");

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.VerificationTime = Now.UtcDateTime;
            chain.Build(leaf).Should().BeTrue(string.Join(", ", chain.ChainStatus.Select(s => s.StatusInformation)));
        }
        data[DaskTls.CaCertificateKey].Should().Equal(caData[FacilityCertificateAuthority.CertificateKey]);
        data.Keys.Should().NotContain(FacilityCertificateAuthority.PrivateKeyKey, "the CA key never leaves the CA secret");
    }

    [Fact]
    public void Ensure_is_idempotent_and_renews_before_expiry_or_on_change()
    {
        var caData = NewCa();
        var first = DaskTls.Ensure(null, caData, "alice", "users", null, Now);
        first.Changed.Should().BeTrue();
        first.RenewAt.Should().Be(Now.AddDays(60));

        var second = DaskTls.Ensure(first.Data, caData, "alice", "users", null, Now.AddDays(10));
        second.Changed.Should().BeFalse();
        second.Data.Should().BeSameAs(first.Data);

        var renewed = DaskTls.Ensure(first.Data, caData, "alice", "users", null, Now.AddDays(61));
        renewed.Changed.Should().BeTrue();
        renewed.Data[DaskTls.SchedulerCertificateKey].Should().NotEqual(first.Data[DaskTls.SchedulerCertificateKey]);

        var externalAdded = DaskTls.Ensure(first.Data, caData, "alice", "users", "alice.dask.coffea.casa", Now.AddDays(1));
        externalAdded.Changed.Should().BeTrue();
        externalAdded.Data[DaskTls.ClientCertificateKey].Should().Equal(first.Data[DaskTls.ClientCertificateKey], "only the stale scheduler pair is re-issued");

        var swappedKey = new Dictionary<string, byte[]>(first.Data) { [DaskTls.SchedulerPrivateKeyKey] = first.Data[DaskTls.ClientPrivateKeyKey] };
        DaskTls.Ensure(swappedKey, caData, "alice", "users", null, Now.AddDays(1)).Changed.Should().BeTrue("a key that does not match its certificate is re-issued");

        var newCa = NewCa();
        var afterCaChange = DaskTls.Ensure(first.Data, newCa, "alice", "users", null, Now.AddDays(1));
        afterCaChange.Changed.Should().BeTrue();
        using var ca = FacilityCertificateAuthority.Load(newCa);
        using var client = Certificate(afterCaChange.Data, DaskTls.ClientCertificateKey);
        LeafCertificates.ChainsTo(client, ca, Now.AddDays(1)).Should().BeTrue();
    }

    [Fact]
    public void Leaf_never_outlives_the_ca()
    {
        var lifetimes = CertificateLifetimes.Default with { CaLifetime = TimeSpan.FromDays(100), CaRenewBefore = TimeSpan.FromDays(1) };
        var caData = FacilityCertificateAuthority.Ensure(null, "cms-af", Now, lifetimes).Data;
        var data = DaskTls.Ensure(null, caData, "alice", "users", null, Now.AddDays(50), lifetimes).Data;
        using var ca = FacilityCertificateAuthority.Load(caData);
        using var leaf = Certificate(data, DaskTls.ClientCertificateKey);
        leaf.NotAfter.Should().BeOnOrBefore(ca.NotAfter);
    }
}
