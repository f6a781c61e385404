using AnalysisFacility.Operator.Cli;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.Operator.Runtime.Client;

namespace AnalysisFacility.Operator.Tests.Cli;

public sealed class RenderCommandTests
{
    private static string AllSamples() => string.Join("\n---\n",
        Directory.GetFiles(Path.Combine(RepositoryRoot.Path, "deploy", "samples"), "*.yaml").OrderBy(f => f).Select(File.ReadAllText));

    [Fact]
    public void Render_shows_the_full_facility_and_every_sample_resource_without_a_cluster()
    {
        var output = RenderCommand.Render(AllSamples(), new OperatorSettings());
        var objects = YamlDocuments.Parse(output);
        var kinds = objects.Select(o => o["kind"]!.GetValue<string>()).ToHashSet();
        kinds.Should().Contain(["Deployment", "StatefulSet", "DaemonSet", "Service", "Ingress", "ConfigMap", "Secret",
            "PersistentVolume", "PersistentVolumeClaim", "Pod", "NetworkPolicy", "DaskCluster", "Role", "RoleBinding"]);
        output.Should().Contain("# Source: AnalysisFacility/cms-af").And.Contain("# Source: UserSession/")
            .And.Contain("# Source: DaskCluster/").And.Contain("# Source: XCacheInstance/");
        // HTCondor pool, hub, Triton and the BindFS store all come from the one facility resource.
        objects.Select(o => o["metadata"]!["name"]!.GetValue<string>()).Should().Contain(n => n.Contains("hub"))
            .And.Contain(n => n.Contains("schedd")).And.Contain(n => n.Contains("triton")).And.Contain(n => n.Contains("bindfs"));
    }

    [Fact]
    public void Render_never_prints_key_material()
    {
        var output = RenderCommand.Render(AllSamples(), new OperatorSettings());
        output.Should().NotContain("PRIVATE KEY").And.NotContain("LS0tLS1CRUdJTi"); // PEM, plain or base64
    }

    [Fact]
    public void Render_refuses_input_without_our_resources_with_a_clear_message()
    {
        var act = () => RenderCommand.Render("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", new OperatorSettings());
        act.Should().Throw<ArgumentException>().WithMessage("*no analysisfacility.io resources*");
    }
}
