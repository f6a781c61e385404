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
        var kubectl = Path.Combine(Dev.LocalControlPlane.BinDirectory, "kubectl");
        var (code, output) = await TestProcess.RunAsync(kubectl,
            ["--kubeconfig", fixture.Plane.KubeconfigPath, "explain", "xcacheinstances.spec.watermarks"]);
        code.Should().Be(0, output);
        output.Should().Contain("Disk usage watermarks").And.Contain("Low watermark");

        (code, output) = await TestProcess.RunAsync(kubectl,
            ["--kubeconfig", fixture.Plane.KubeconfigPath, "explain", "analysisfacility.spec.tokens.issuer"]);
        code.Should().Be(0, output);
        output.Should().Contain("no trailing slash");
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
        var kubectl = Path.Combine(Dev.LocalControlPlane.BinDirectory, "kubectl");
        var (code, output) = await TestProcess.RunAsync(kubectl,
            ["--kubeconfig", fixture.Plane.KubeconfigPath, "get", ApiGroup.Category, "-n", ns]);
        code.Should().Be(0, output);
        (code, output) = await TestProcess.RunAsync(kubectl, ["--kubeconfig", fixture.Plane.KubeconfigPath, "api-resources", "--categories", ApiGroup.Category, "-o", "name"]);
        code.Should().Be(0, output);
        output.Should().Contain("analysisfacilities.analysisfacility.io").And.Contain("usersessions.analysisfacility.io")
            .And.Contain("daskclusters.analysisfacility.io").And.Contain("xcacheinstances.analysisfacility.io");
    }
}
