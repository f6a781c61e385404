using AnalysisFacility.Operator.Builders.Certificates;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Builders.Facility;
using k8s;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Tests.Facility;

public sealed class FacilitySampleTests
{
    private static string SamplePath()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "deploy", "samples", "facility.yaml");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("deploy/samples/facility.yaml not found above the test directory");
    }

    [Fact]
    public void The_sample_facility_is_valid_and_builds_every_component()
    {
        var facility = YamlDocuments.Single<FacilityResource>(File.ReadAllText(SamplePath()), ApiJson.Options);
        facility.Spec.Hub.Authentication.OAuth!.AuthorizeUrl.Should().Be("https://cms-auth.web.cern.ch/authorize");
        var result = FacilityBuilder.Build(facility, new FacilityContext { IssuerServiceHost = "analysisfacility-operator.af-system.svc", CondorTls = CondorTls(facility) });
        result.Errors.Should().BeEmpty();
        // CVMFS stays off in the sample: it needs the CVMFS CSI driver, which the local dev cluster does not have.
        result.Components.Where(c => c.Component != CvmfsBuilder.Component).Should().OnlyContain(c => c.Enabled && c.Objects.Count > 0);
        StoreMapping.Resolve(facility.Spec.UserStore, "oksana.shadura@cern.ch").SubPath.Should().Be("oshadura");
        facility.Spec.Triton.ModelRepository!.Bucket.Should().Be("triton-87fdb9b5-a748-4d46-9b85-ec11b7549f81");
        TritonBuilder.UserCredentialEnvironment(facility.Spec).Select(e => e.ValueFrom.SecretKeyRef.Name).Should().Equal("triton-bucket-users", "triton-bucket-users");
    }

    private static IDictionary<string, byte[]> CondorTls(FacilityResource facility) =>
        HTCondorTls.Ensure(null, FacilityCertificateAuthority.Ensure(null, facility.Metadata.Name, DateTimeOffset.UtcNow).Data, facility, DateTimeOffset.UtcNow).Data;
}
