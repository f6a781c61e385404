using AnalysisFacility.Operator.Runtime.Client;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Api.V1Alpha1;
using k8s;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Tests.Delivery;

/// <summary>
/// The Flux layout and samples, without Flux: every path a Flux object points at exists in the repository, dependsOn
/// names resolve, the shared files of the two variants are identical, and every sample deserialises into our types.
/// (The integration tests dry-run the samples against the real API server's schema.)
/// </summary>
public sealed class FluxLayoutTests
{
    [Theory]
    [InlineData("kustomize")]
    [InlineData("helm")]
    public void Flux_variant_points_at_existing_paths_and_orders_facilities_after_the_operator(string variant)
    {
        var directory = DeliveryFiles.PathOf("deploy", "flux", variant);
        var objects = DeliveryFiles.ObjectsInFiles(directory).Concat(variant == "helm" ? DeliveryFiles.ObjectsInFiles(Path.Combine(directory, "release")) : []).ToList();
        var source = DeliveryFiles.Single(objects, "GitRepository");
        var kustomizations = objects.Where(o => (string?)o["kind"] == "Kustomization").ToList();
        kustomizations.Should().HaveCount(2);
        foreach (var kustomization in kustomizations)
        {
            ((string)kustomization["spec"]!["sourceRef"]!["name"]!).Should().Be((string)source["metadata"]!["name"]!);
            var path = ((string)kustomization["spec"]!["path"]!).TrimStart('.', '/');
            Directory.Exists(DeliveryFiles.PathOf(path.Split('/'))).Should().BeTrue(path);
        }
        var facilities = DeliveryFiles.Single(kustomizations, "Kustomization", "analysisfacilities");
        var operatorName = (string)DeliveryFiles.Single(kustomizations, "Kustomization", "analysisfacility-operator")["metadata"]!["name"]!;
        facilities["spec"]!["dependsOn"]!.AsArray().Select(d => (string)d!["name"]!).Should().Equal(operatorName);
        ((string)DeliveryFiles.Single(kustomizations, "Kustomization", operatorName)["spec"]!["wait"]!).Should().Be("true",
            "dependsOn waits for Ready, and Ready means the CRDs and Deployment are up only with wait");
        if (variant == "helm")
        {
            var release = DeliveryFiles.Single(objects, "HelmRelease");
            var chart = ((string)release["spec"]!["chart"]!["spec"]!["chart"]!).TrimStart('.', '/');
            File.Exists(DeliveryFiles.PathOf([.. chart.Split('/'), "Chart.yaml"])).Should().BeTrue();
            ((string)release["spec"]!["install"]!["crds"]!).Should().Be("CreateReplace");
        }
        // Every file listed by the folder's kustomization.yaml exists.
        foreach (var resource in DeliveryFiles.Objects(File.ReadAllText(Path.Combine(directory, "kustomization.yaml")))[0]["resources"]!.AsArray())
        {
            File.Exists(Path.Combine(directory, (string)resource!)).Should().BeTrue((string?)resource);
        }
    }

    [Fact]
    public void Shared_files_of_the_two_variants_are_identical()
    {
        foreach (var file in new[] { "gitrepository.yaml", "facilities.yaml" })
        {
            File.ReadAllText(DeliveryFiles.PathOf("deploy", "flux", "helm", file))
                .Should().Be(File.ReadAllText(DeliveryFiles.PathOf("deploy", "flux", "kustomize", file)), file);
        }
    }

    [Fact]
    public void Every_sample_deserialises_into_the_API_types_and_references_the_sample_facility()
    {
        var samples = DeliveryFiles.PathOf("deploy", "samples");
        var kinds = new Dictionary<string, Func<string, object?>>
        {
            ["AnalysisFacility"] = yaml => YamlDocuments.Single<FacilityResource>(yaml, ApiJson.Options).Spec,
            ["UserSession"] = yaml => YamlDocuments.Single<UserSession>(yaml, ApiJson.Options).Spec,
            ["DaskCluster"] = yaml => YamlDocuments.Single<DaskCluster>(yaml, ApiJson.Options).Spec,
            ["XCacheInstance"] = yaml => YamlDocuments.Single<XCacheInstance>(yaml, ApiJson.Options).Spec,
        };
        var found = new List<string>();
        foreach (var path in Directory.GetFiles(samples, "*.yaml"))
        {
            // Typed deserialisation needs YAML's own scalars, so split the file text into documents.
            foreach (var text in System.Text.RegularExpressions.Regex.Split(File.ReadAllText(path), "^---\\s*$", System.Text.RegularExpressions.RegexOptions.Multiline))
            {
                if (DeliveryFiles.Objects(text).SingleOrDefault() is not { } document) continue;
                var kind = (string)document["kind"]!;
                found.Add(kind);
                if (!kinds.TryGetValue(kind, out var deserialize)) continue;
                deserialize(text).Should().NotBeNull();
                ((string?)document["metadata"]!["namespace"]).Should().Be("cmsaf");
                if (document["spec"]!["facilityRef"] is JsonNode facilityRef) ((string)facilityRef!).Should().Be("cms-af");
            }
        }
        found.Should().Contain(["Namespace", "AnalysisFacility", "UserSession", "DaskCluster", "XCacheInstance"]);
    }
}
