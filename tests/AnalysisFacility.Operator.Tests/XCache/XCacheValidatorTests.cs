using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.XCache;

namespace AnalysisFacility.Operator.Tests.XCache;

public class XCacheValidatorTests
{
    private static IReadOnlyList<string> Errors(Action<XCacheInstanceSpec> change, XCacheIssuerSettings? issuer = null)
    {
        var instance = XCacheBuilderTests.Instance(change);
        var errors = XCacheValidator.Validate(instance, issuer);
        XCacheBuilder.Build(instance, issuer).Resources.Should().BeNull("an invalid spec builds nothing");
        return errors;
    }

    [Theory]
    [InlineData("0.95", "0.90", "low (0.95) must be below high (0.90)")]
    [InlineData("0.90", "0.90", "low (0.90) must be below high (0.90)")]
    [InlineData("0", "0.9", "spec.watermarks.low: '0' is not a fraction")]
    [InlineData("0.5", "1.0", "spec.watermarks.high: '1.0' is not a fraction")]
    [InlineData("0.5", "abc", "spec.watermarks.high: 'abc' is not a fraction")]
    public void Watermarks_out_of_order_or_range_are_refused(string low, string high, string message)
    {
        Errors(s => s.Watermarks = new XCacheWatermarks { Low = low, High = high })
            .Should().ContainSingle().Which.Should().Contain(message);
    }

    [Theory]
    [InlineData("512m", "at least 1g")]
    [InlineData("1023m", "at least 1g")]
    [InlineData("4G", "is not a size like 4g")]
    [InlineData("lots", "is not a size like 4g")]
    public void Ram_below_one_gigabyte_or_malformed_is_refused(string ram, string message)
    {
        Errors(s => s.Ram = ram).Should().ContainSingle().Which.Should().StartWith("spec.ram:").And.Contain(message);
    }

    [Fact]
    public void One_gigabyte_of_ram_is_enough()
    {
        XCacheValidator.Validate(XCacheBuilderTests.Instance(s => s.Ram = "1024m")).Should().BeEmpty();
    }

    [Theory]
    [InlineData("", "spec.origin: missing")]
    [InlineData("http://origin", "is not root://host[:port]")]
    [InlineData("root://origin//store", "is not root://host[:port]")]
    [InlineData("root://origin:99999", "is not root://host[:port]")]
    public void Missing_or_malformed_origin_is_refused(string origin, string message)
    {
        Errors(s => s.Origin = origin).Should().ContainSingle().Which.Should().Contain(message);
    }

    [Theory]
    [InlineData("/store/")]
    [InlineData("store")]
    [InlineData("/store//user")]
    [InlineData("/store/../etc")]
    [InlineData("/store/./user")]
    [InlineData("/store/us er")]
    public void Exported_paths_that_are_not_normalised_are_refused(string path)
    {
        Errors(s => s.ExportedPaths = ["/data", path]).Should().ContainSingle()
            .Which.Should().Be($"spec.exportedPaths[1]: '{path}' is not a normalised absolute path; use /segment/segment " +
                "with letters, digits and . _ ~ - (no '.', '..' or empty segments, no trailing slash)");
    }

    [Fact]
    public void Empty_or_duplicated_exported_paths_are_refused()
    {
        Errors(s => s.ExportedPaths = []).Should().ContainSingle().Which.Should().StartWith("spec.exportedPaths: empty");
        Errors(s => s.ExportedPaths = ["/store", "/store"]).Should().ContainSingle().Which.Should().Contain("listed twice");
    }

    [Fact]
    public void Token_authorization_without_facility_or_issuer_is_refused()
    {
        Errors(s => s.Authorization = new XCacheAuthorization()).Should().ContainSingle()
            .Which.Should().StartWith("spec.authorization: neither facilityRef nor issuer is set");
    }

    [Fact]
    public void Token_authorization_with_both_facility_and_issuer_is_refused()
    {
        Errors(s => s.Authorization = new XCacheAuthorization { FacilityRef = "af", Issuer = "https://issuer.example", Audiences = ["a"] },
                new XCacheIssuerSettings("https://af.example", ["a"]))
            .Should().Contain(e => e.Contains("facilityRef and issuer are both set"));
    }

    [Fact]
    public void Explicit_issuer_needs_https_and_audiences()
    {
        Errors(s => s.Authorization = new XCacheAuthorization { Issuer = "http://issuer.example/", Audiences = [] })
            .Should().BeEquivalentTo(
                "spec.authorization.issuer: 'http://issuer.example/' is not an https:// URL without a trailing slash",
                "spec.authorization.audiences: empty; list the audiences the facility's tokens carry");
    }

    [Fact]
    public void Facility_reference_needs_the_resolved_issuer()
    {
        Errors(s => s.Authorization = new XCacheAuthorization { FacilityRef = "cms-af" })
            .Should().ContainSingle().Which.Should().Contain("AnalysisFacility 'cms-af' has no issuer available yet");
    }

    [Fact]
    public void Base_path_must_be_normalised()
    {
        Errors(s => s.Authorization = new XCacheAuthorization { Issuer = "https://i.example", Audiences = ["a"], BasePath = "/store/../" })
            .Should().ContainSingle().Which.Should().StartWith("spec.authorization.basePath:");
    }

    [Theory]
    [InlineData("10k", "multiple of 4k")]
    [InlineData("6k", "multiple of 4k")]
    [InlineData("1M", "is not a size like 1m")]
    public void Block_size_must_be_a_multiple_of_4k(string blockSize, string message)
    {
        Errors(s => s.BlockSize = blockSize).Should().ContainSingle().Which.Should().StartWith("spec.blockSize:").And.Contain(message);
    }

    [Fact]
    public void Memory_limit_must_leave_room_above_the_cache_ram()
    {
        Errors(s => { s.Ram = "8g"; s.Resources = new ComputeResources { Memory = "8Gi" }; })
            .Should().ContainSingle().Which.Should().StartWith("spec.resources.memory: 8Gi must be larger than spec.ram");
    }

    [Fact]
    public void Other_numbers_out_of_range_are_refused_with_the_field_named()
    {
        Errors(s => s.Replicas = 0).Should().ContainSingle().Which.Should().StartWith("spec.replicas:");
        Errors(s => s.Prefetch = 200).Should().ContainSingle().Which.Should().StartWith("spec.prefetch:");
        Errors(s => s.HttpPort = 1094).Should().ContainSingle().Which.Should().StartWith("spec.httpPort:");
        Errors(s => s.CacheSize = "lots").Should().ContainSingle().Which.Should().StartWith("spec.cacheSize:");
    }

    [Fact]
    public void All_problems_are_reported_at_once()
    {
        Errors(s => { s.Origin = ""; s.Ram = "1m"; s.Watermarks = new XCacheWatermarks { Low = "0.9", High = "0.8" }; })
            .Should().HaveCount(3);
    }
}
