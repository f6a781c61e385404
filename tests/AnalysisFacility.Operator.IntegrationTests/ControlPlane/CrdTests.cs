using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.Runtime.Client;

namespace AnalysisFacility.Operator.IntegrationTests.ControlPlane;

[Collection(ControlPlaneCollection.Name)]
public sealed class CrdTests(ControlPlaneFixture fixture)
{
    [Fact]
    public async Task Kubectl_explain_shows_field_documentation_from_the_CSharp_types()
    {
        var kubectl = Path.Combine(AnalysisFacility.LocalCluster.ControlPlane.LocalControlPlane.BinDirectory, "kubectl");
        var code = -1;
        var output = "";
        // The API server publishes a new CRD's OpenAPI a few seconds after it is established.
        await Eventually.TrueAsync(async () =>
        {
            (code, output) = await TestProcess.RunAsync(kubectl,
                ["--kubeconfig", fixture.Plane.KubeconfigPath, "explain", "xcacheinstances.spec.watermarks"]);
            return code == 0;
        }, TimeSpan.FromSeconds(60), "kubectl explain finds the CRD");
        output.Should().Contain("Disk usage watermarks").And.Contain("Low watermark");

        // Each CRD's OpenAPI is published on its own.
        await Eventually.TrueAsync(async () =>
        {
            (code, output) = await TestProcess.RunAsync(kubectl,
                ["--kubeconfig", fixture.Plane.KubeconfigPath, "explain", "analysisfacility.spec.tokens.issuer"]);
            return code == 0;
        }, TimeSpan.FromSeconds(60), "kubectl explain finds the AnalysisFacility CRD");
        output.Should().Contain("no trailing slash");

        // The spec and status of every kind have a description of their own (kubectl printed an empty one).
        foreach (var (kind, words) in new[] { ("usersession", "Desired state of the UserSession"), ("daskcluster", "Desired state of the DaskCluster"),
                     ("xcacheinstance", "Desired state of the XCacheInstance"), ("analysisfacility", "Desired state of the facility") })
        {
            await Eventually.TrueAsync(async () =>
            {
                (code, output) = await TestProcess.RunAsync(kubectl, ["--kubeconfig", fixture.Plane.KubeconfigPath, "explain", kind + ".spec"]);
                return code == 0;
            }, TimeSpan.FromSeconds(60), $"kubectl explain finds {kind}.spec");
            output.Should().Contain(words, $"kubectl explain {kind}.spec prints a description");
        }
        (code, output) = await TestProcess.RunAsync(kubectl, ["--kubeconfig", fixture.Plane.KubeconfigPath, "explain", "usersession.status"]);
        output.Should().Contain("Observed state of the UserSession");
    }

    [Fact]
    public async Task Invalid_resource_is_rejected_by_the_schema_with_a_clear_message()
    {
        var ns = await fixture.CreateNamespaceAsync("crd-invalid");
        var session = new JsonObject
        {
            ["apiVersion"] = ApiGroup.ApiVersion, ["kind"] = "UserSession",
            ["metadata"] = new JsonObject { ["name"] = "bad", ["namespace"] = ns },
            ["spec"] = new JsonObject
            {
                ["facilityRef"] = "cms",
                ["user"] = new JsonObject { ["name"] = "../etc/passwd" },
                ["memory"] = "lots",
            },
        };
        var type = fixture.Api.Types.For<UserSession>();
        var act = () => fixture.Api.CreateAsync(type, session, CancellationToken.None);
        var error = (await act.Should().ThrowAsync<KubernetesApiException>()).Which;
        error.IsInvalid.Should().BeTrue();
        error.ApiMessage.Should().Contain("spec.user.name").And.Contain("spec.memory");
    }

    [Fact]
    public async Task Defaults_from_the_schema_are_applied_by_the_api_server()
    {
        var ns = await fixture.CreateNamespaceAsync("crd-defaults");
        var cache = new JsonObject
        {
            ["apiVersion"] = ApiGroup.ApiVersion, ["kind"] = "XCacheInstance",
            ["metadata"] = new JsonObject { ["name"] = "cache", ["namespace"] = ns },
            ["spec"] = new JsonObject { ["origin"] = "root://origin.example.org:1094" },
        };
        var created = await fixture.Api.CreateAsync(fixture.Api.Types.For<XCacheInstance>(), cache, CancellationToken.None);
        created["spec"]!["replicas"]!.GetValue<int>().Should().Be(1);
        created["spec"]!["watermarks"]!["low"]!.GetValue<string>().Should().Be("0.90");
        created["spec"]!["exportedPaths"]!.AsArray().Select(p => p!.GetValue<string>()).Should().Equal("/store");
    }

    [Fact]
    public async Task Shared_category_lists_every_kind()
    {
        var ns = await fixture.CreateNamespaceAsync("crd-category");
        var manifest = $"""
            apiVersion: analysisfacility.io/v1alpha1
            kind: AnalysisFacility
            metadata:
              name: cms
              namespace: {ns}
            spec:
              tokens:
                issuer: "https://af.example.org/issuer"
            ---
            apiVersion: analysisfacility.io/v1alpha1
            kind: UserSession
            metadata:
              name: alice
              namespace: {ns}
            spec:
              facilityRef: cms
              user:
                name: alice
            ---
            apiVersion: analysisfacility.io/v1alpha1
            kind: DaskCluster
            metadata:
              name: alice-dask
              namespace: {ns}
            spec:
              facilityRef: cms
            ---
            apiVersion: analysisfacility.io/v1alpha1
            kind: XCacheInstance
            metadata:
              name: cache
              namespace: {ns}
            spec:
              origin: "root://origin.example.org"
            """;
        var file = Path.Combine(Path.GetTempPath(), $"category-{ns}.yaml");
        await File.WriteAllTextAsync(file, manifest);
        var kubectl = Path.Combine(AnalysisFacility.LocalCluster.ControlPlane.LocalControlPlane.BinDirectory, "kubectl");
        var (code, output) = await TestProcess.RunAsync(kubectl, ["--kubeconfig", fixture.Plane.KubeconfigPath, "apply", "-f", file]);
        code.Should().Be(0, output);
        (code, output) = await TestProcess.RunAsync(kubectl,
            ["--kubeconfig", fixture.Plane.KubeconfigPath, "get", ApiGroup.Category, "-n", ns, "-o", "name"]);
        code.Should().Be(0, output);
        output.Should().Contain("analysisfacility.analysisfacility.io/cms").And.Contain("usersession.analysisfacility.io/alice")
            .And.Contain("daskcluster.analysisfacility.io/alice-dask").And.Contain("xcacheinstance.analysisfacility.io/cache");
        File.Delete(file);
    }
}
