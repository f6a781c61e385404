using System.Text.Json.Nodes;

namespace AnalysisFacility.Operator.Tests.Delivery;

/// <summary>
/// The Helm chart without Helm. What this covers: every template renders with <see cref="HelmLite"/> (the subset of
/// Helm's template language the chart may use) and parses as YAML, for the default values and for values that flip
/// every branch; with the default values, the chart yields the same image, args, ports, probes, security contexts,
/// resources, RBAC rules (ClusterRole and leader-election Role), bindings and Services as deploy/operator, which the
/// integration tests apply to a real API server. Labels and the NOTES text are not compared.
/// </summary>
public sealed class HelmChartTests
{
    private static readonly string Chart = DeliveryFiles.PathOf("charts", "analysisfacility-operator");

    private static IReadOnlyList<JsonObject> Render(IDictionary<object, object>? overrides = null)
    {
        var values = HelmLite.LoadYaml(Path.Combine(Chart, "values.yaml"));
        if (overrides is not null) values = HelmLite.Merge(values, overrides);
        var renderer = new HelmLite(values, "analysisfacility-operator", "analysisfacility-system", HelmLite.LoadYaml(Path.Combine(Chart, "Chart.yaml")));
        return Directory.GetFiles(Path.Combine(Chart, "templates"), "*.yaml").Order(StringComparer.Ordinal)
            .SelectMany(path => DeliveryFiles.Objects(renderer.Render(File.ReadAllText(path)))).ToList();
    }

    private static IReadOnlyList<JsonObject> Shipped() => DeliveryFiles.ObjectsInFiles(DeliveryFiles.PathOf("deploy", "operator"));

    [Fact]
    public void Every_template_renders_to_valid_objects_with_defaults_and_with_every_branch_flipped()
    {
        var defaults = Render();
        defaults.Select(o => (string)o["kind"]!).Should().BeEquivalentTo(
            ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "Service", "Service"]);
        defaults.Should().OnlyContain(o => o["apiVersion"] != null && o["metadata"]!["name"] != null);

        var flipped = Render(new Dictionary<object, object>
        {
            ["leaderElection"] = new Dictionary<object, object> { ["enabled"] = false },
            ["serviceMonitor"] = new Dictionary<object, object> { ["enabled"] = true },
            ["watchNamespaces"] = new List<object> { "cmsaf", "atlasaf" },
            ["logLevel"] = "debug",
            ["replicas"] = 1,
        });
        flipped.Select(o => (string)o["kind"]!).Should().Contain("ServiceMonitor").And.NotContain("Role").And.NotContain("RoleBinding");
        var container = DeliveryFiles.Single(flipped, "Deployment")["spec"]!["template"]!["spec"]!["containers"]![0]!;
        container["args"]!.AsArray().Select(a => (string)a!).Should().Equal("run");
        Env(container, "AF_NAMESPACES").Should().Be("cmsaf,atlasaf");
        Env(container, "AF_LOG_LEVEL").Should().Be("debug");
        ((string)DeliveryFiles.Single(flipped, "Deployment")["spec"]!["replicas"]!).Should().Be("1");
        var monitor = DeliveryFiles.Single(flipped, "ServiceMonitor");
        ((string)monitor["spec"]!["endpoints"]![0]!["port"]!).Should().Be("http");
        var metricsService = DeliveryFiles.Single(flipped, "Service", "analysisfacility-operator-metrics");
        monitor["spec"]!["selector"]!["matchLabels"]!.AsObject().Should().OnlyContain(
            label => (string?)metricsService["metadata"]!["labels"]![label.Key] == (string?)label.Value);
    }

    [Fact]
    public void Default_values_render_what_deploy_operator_ships()
    {
        var chart = Render();
        var shipped = Shipped();

        Same(DeliveryFiles.Single(chart, "ClusterRole")["rules"], DeliveryFiles.Single(shipped, "ClusterRole")["rules"], "ClusterRole rules");
        Same(DeliveryFiles.Single(chart, "Role")["rules"], DeliveryFiles.Single(shipped, "Role")["rules"], "leader-election Role rules");
        foreach (var binding in new[] { "ClusterRoleBinding", "RoleBinding" })
        {
            Same(DeliveryFiles.Single(chart, binding)["roleRef"], DeliveryFiles.Single(shipped, binding)["roleRef"], binding + " roleRef");
            Same(DeliveryFiles.Single(chart, binding)["subjects"], DeliveryFiles.Single(shipped, binding)["subjects"], binding + " subjects");
        }

        var chartDeployment = DeliveryFiles.Single(chart, "Deployment");
        var shippedDeployment = DeliveryFiles.Single(shipped, "Deployment");
        Same(chartDeployment["spec"]!["replicas"], shippedDeployment["spec"]!["replicas"], "replicas");
        Same(chartDeployment["spec"]!["selector"], shippedDeployment["spec"]!["selector"], "selector");
        var chartPod = chartDeployment["spec"]!["template"]!["spec"]!;
        var shippedPod = shippedDeployment["spec"]!["template"]!["spec"]!;
        foreach (var field in new[] { "serviceAccountName", "securityContext", "volumes" }) Same(chartPod[field], shippedPod[field], "pod " + field);
        var chartContainer = chartPod["containers"]![0]!;
        var shippedContainer = shippedPod["containers"]![0]!;
        foreach (var field in new[] { "image", "args", "ports", "livenessProbe", "readinessProbe", "resources", "securityContext", "volumeMounts", "env" })
        {
            Same(chartContainer[field], shippedContainer[field], "container " + field);
        }

        foreach (var service in new[] { "analysisfacility-operator-metrics", "analysisfacility-operator-issuer" })
        {
            Same(DeliveryFiles.Single(chart, "Service", service)["spec"], DeliveryFiles.Single(shipped, "Service", service)["spec"], service);
        }
        ((string)shippedContainer["image"]!).Should().EndWith(":" + (string)HelmLite.LoadYaml(Path.Combine(Chart, "Chart.yaml"))["appVersion"]);
    }

    [Fact]
    public void Chart_and_install_CRDs_are_copies_of_crds()
    {
        var generated = Directory.GetFiles(DeliveryFiles.PathOf("crds"), "*.yaml").Select(Path.GetFileName).Order().ToList();
        generated.Should().HaveCount(4);
        foreach (var copyDirectory in new[] { Path.Combine(Chart, "crds"), DeliveryFiles.PathOf("deploy", "operator", "crds") })
        {
            Directory.GetFiles(copyDirectory, "*.yaml").Select(Path.GetFileName).Order().Should().Equal(generated, copyDirectory);
            foreach (var name in generated)
            {
                File.ReadAllText(Path.Combine(copyDirectory, name!)).Should().Be(File.ReadAllText(DeliveryFiles.PathOf("crds", name!)),
                    $"{copyDirectory}/{name} must be a copy of crds/{name} (cp crds/*.yaml {copyDirectory}/)");
            }
        }
        var kustomization = File.ReadAllText(DeliveryFiles.PathOf("deploy", "operator", "kustomization.yaml"));
        generated.Should().OnlyContain(name => kustomization.Contains("crds/" + name));
    }

    private static string? Env(JsonNode container, string name) =>
        (string?)container["env"]!.AsArray().Single(e => (string?)e!["name"] == name)!["value"];

    private static void Same(JsonNode? actual, JsonNode? expected, string what) =>
        JsonNode.DeepEquals(actual, expected).Should().BeTrue($"{what} differs: chart {actual?.ToJsonString()} vs deploy/operator {expected?.ToJsonString()}");
}
