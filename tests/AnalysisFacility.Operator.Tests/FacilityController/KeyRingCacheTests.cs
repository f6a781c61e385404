using AnalysisFacility.Operator.Controllers.Facility;
using AnalysisFacility.Operator.Tokens.Keys;
using k8s.Models;

namespace AnalysisFacility.Operator.Tests.FacilityController;

public class KeyRingCacheTests
{
    private static V1Secret Secret(string resourceVersion, KeyRing ring) => new()
    {
        Metadata = new V1ObjectMeta { Name = "cms-af-issuer-keys", NamespaceProperty = "cms", Uid = "u1", ResourceVersion = resourceVersion },
        Data = KeyRingSecret.ToSecretData(ring),
    };

    [Fact]
    public void A_secret_version_is_parsed_once_and_a_new_version_is_parsed_again()
    {
        var now = DateTimeOffset.UtcNow;
        var first = KeyRing.Empty.Rotate(now, RotationPolicy.Default).Ring;
        var cache = new KeyRingCache();

        var a = cache.Read(Secret("10", first));
        var b = cache.Read(Secret("10", first));
        b.Value.Should().BeSameAs(a.Value, "the same version is not imported again");

        // The facility rotated: a new resourceVersion with another key must not be answered from the cache.
        var second = KeyRing.Empty.Rotate(now, RotationPolicy.Default).Ring;
        var c = cache.Read(Secret("11", second));
        c.Value!.ActiveAt(now)!.Key.KeyId.Should().Be(second.ActiveAt(now)!.Key.KeyId).And.NotBe(first.ActiveAt(now)!.Key.KeyId);
        cache.Count.Should().Be(1);
    }
}
