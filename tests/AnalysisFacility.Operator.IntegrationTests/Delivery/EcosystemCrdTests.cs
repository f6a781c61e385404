using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Dask;
using AnalysisFacility.Operator.Cli;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.Operator.Controllers.Dask;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Tests.Delivery;
using k8s.Models;
using static AnalysisFacility.Operator.IntegrationTests.DaskController.ControllerTestKit;

namespace AnalysisFacility.Operator.IntegrationTests.Delivery;

/// <summary>
/// The third-party objects the project ships or generates (deploy/flux, the chart's ServiceMonitor, the Dask
/// IngressRouteTCP), checked by the kube-apiserver 1.20 against the upstream CRDs in Fixtures/EcosystemCrds (source
/// and tag in each file) rather than against our expectations. The CRDs are removed again at the end, since other tests
/// of the collection check how the operator behaves without Traefik.
/// </summary>
[Collection(ControlPlaneCollection.Name)]
public sealed class EcosystemCrdTests(ControlPlaneFixture fixture)
{
    private static readonly string Fixtures = Path.Combine(Kubectl.RepositoryRoot, "tests", "AnalysisFacility.Operator.IntegrationTests", "Fixtures", "EcosystemCrds");
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static readonly ResourceType CrdType = new("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", Namespaced: false);
    private static readonly ResourceType RouteType = new("traefik.io", "v1alpha1", "IngressRouteTCP", "ingressroutetcps", Namespaced: true);

    private Kubectl Admin => new(fixture.Plane.KubeconfigPath);

    [Fact]
    public async Task Upstream_CRDs_load_and_every_shipped_or_generated_object_passes_server_side_dry_run_and_the_Dask_route_is_applied()
    {
        var crds = Directory.GetFiles(Fixtures, "*.yaml").Order(StringComparer.Ordinal).ToList();
        crds.Select(Path.GetFileName).Should().BeEquivalentTo([
            "helm.toolkit.fluxcd.io_helmreleases.yaml", "kustomize.toolkit.fluxcd.io_kustomizations.yaml", "monitoring.coreos.com_servicemonitors.yaml",
            "source.toolkit.fluxcd.io_gitrepositories.yaml", "traefik.io_ingressroutetcps.yaml"]);
        try
        {
            foreach (var crd in crds)
            {
                var text = await File.ReadAllTextAsync(crd);
                text.Should().StartWith("# Upstream CRD").And.Contain("# Source: github.com/").And.Contain("apiVersion: apiextensions.k8s.io/v1\n");
                // Created through the API (not kubectl create): kubectl 1.20 refuses the one CEL rule of helm-controller's
                // HelmRelease v2 (x-kubernetes-validations: exactly one of chart and chartRef) as an unknown field, while the
                // 1.20 API server drops it; that rule is checked on our HelmRelease below instead.
                foreach (var document in YamlDocuments.Parse(text))
                {
                    try
                    {
                        await fixture.Api.CreateAsync(CrdType, document, CancellationToken.None);
                    }
                    catch (KubernetesApiException e)
                    {
                        throw new InvalidOperationException($"{Path.GetFileName(crd)} does not load in Kubernetes 1.20: {e.ApiMessage}", e);
                    }
                }
            }
            var established = await Admin.RunAsync(["wait", "--for=condition=established", "--timeout=60s", .. crds.SelectMany(c => new[] { "-f", c })]);
            established.ExitCode.Should().Be(0, established.Error);

            await DryRunFluxLayoutAsync();
            await DryRunChartServiceMonitorAsync();
            await DryRunRenderedRouteAsync();
            await RouteIsAppliedAndExternalRouteReadyFollowsItAsync();
        }
        finally
        {
            await Admin.RunAsync(["delete", "--ignore-not-found", "--wait", .. crds.SelectMany(c => new[] { "-f", c })]);
        }
    }

    /// <summary>Every Flux object of deploy/flux (both layouts), as Flux's own controllers would receive them.</summary>
    private async Task DryRunFluxLayoutAsync()
    {
        await EnsureNamespaceAsync("flux-system");
        var files = new[] { "kustomize", "helm" }
            .SelectMany(layout => Directory.GetFiles(Path.Combine(Kubectl.RepositoryRoot, "deploy", "flux", layout), "*.yaml", SearchOption.AllDirectories))
            .Where(f => !Kubectl.Documents(File.ReadAllText(f)).Any(d => Kubectl.KindOf(d) == "Kustomization" && d.Contains("kustomize.config.k8s.io")))
            .Order(StringComparer.Ordinal).ToList();
        var kinds = files.SelectMany(f => Kubectl.Documents(File.ReadAllText(f)).Select(Kubectl.KindOf)).ToHashSet();
        kinds.Should().BeEquivalentTo(["GitRepository", "Kustomization", "HelmRelease"]);
        foreach (var file in files)
        {
            var result = await Admin.RunAsync(["apply", "--server-side", "--dry-run=server", "-f", file]);
            result.ExitCode.Should().Be(0, $"{Path.GetRelativePath(Kubectl.RepositoryRoot, file)}: {result.Error}");
            result.Output.Should().Contain("(server dry run)");
        }

        // The one upstream rule 1.20 cannot run (CEL): a HelmRelease names exactly one of chart and chartRef.
        var release = File.ReadAllText(Path.Combine(Kubectl.RepositoryRoot, "deploy/flux/helm/release/helmrelease.yaml"));
        var spec = new YamlDotNet.Serialization.DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(release)["spec"] as IDictionary<object, object>;
        (spec!.ContainsKey("chart") ^ spec.ContainsKey("chartRef")).Should().BeTrue("helm-controller requires either chart or chartRef");

        // The dry run really validates against the upstream schema: a Kustomization without sourceRef is refused.
        var broken = File.ReadAllText(Path.Combine(Kubectl.RepositoryRoot, "deploy/flux/kustomize/operator.yaml"))
            .Replace("sourceRef:", "notSourceRef:", StringComparison.Ordinal);
        var refused = await Admin.RunAsync(["apply", "--server-side", "--dry-run=server", "-f", "-"], broken);
        refused.ExitCode.Should().NotBe(0);
        refused.Error.Should().Contain("sourceRef");
    }

    /// <summary>The chart's ServiceMonitor with serviceMonitor.enabled (rendered the way the chart tests render it).</summary>
    private async Task DryRunChartServiceMonitorAsync()
    {
        var chart = Path.Combine(Kubectl.RepositoryRoot, "charts", "analysisfacility-operator");
        var values = HelmLite.Merge(HelmLite.LoadYaml(Path.Combine(chart, "values.yaml")),
            new Dictionary<object, object> { ["serviceMonitor"] = new Dictionary<object, object> { ["enabled"] = true } });
        var renderer = new HelmLite(values, "analysisfacility-operator", "analysisfacility-system", HelmLite.LoadYaml(Path.Combine(chart, "Chart.yaml")));
        var rendered = renderer.Render(await File.ReadAllTextAsync(Path.Combine(chart, "templates", "servicemonitor.yaml")));
        Kubectl.KindOf(rendered).Should().Be("ServiceMonitor");
        await EnsureNamespaceAsync("analysisfacility-system");
        var result = await Admin.RunAsync(["apply", "--server-side", "--dry-run=server", "-f", "-"], rendered);
        result.ExitCode.Should().Be(0, result.Error);
        result.Output.Should().Contain("servicemonitor.monitoring.coreos.com/analysisfacility-operator serverside-applied (server dry run)");
    }

    /// <summary>The IngressRouteTCP `render` makes for the sample Dask cluster (external: true), as the controller applies it.</summary>
    private async Task DryRunRenderedRouteAsync()
    {
        var samples = Path.Combine(Kubectl.RepositoryRoot, "deploy", "samples");
        var rendered = RenderCommand.Render(RenderCommand.ReadSources([samples], TextReader.Null), new OperatorSettings());
        var routes = Kubectl.Documents(rendered).Where(d => Kubectl.KindOf(d) == "IngressRouteTCP").ToList();
        routes.Should().NotBeEmpty("the sample Dask cluster is external");
        var ns = await Admin.RunAsync(["apply", "--server-side", "-f", "deploy/samples/namespace.yaml"]);
        ns.ExitCode.Should().Be(0, ns.Error);
        foreach (var route in routes)
        {
            // The owner reference names a DaskCluster that exists only in the rendering; the schema check is what counts.
            var result = await Admin.RunAsync(["apply", "--server-side", "--dry-run=server", "-f", "-"], route);
            result.ExitCode.Should().Be(0, result.Error);
            result.Output.Should().Contain("ingressroutetcp.traefik.io/").And.Contain("(server dry run)");
        }
    }

    /// <summary>With Traefik's CRD installed the controller applies the route for real, and the condition follows it.</summary>
    private async Task RouteIsAppliedAndExternalRouteReadyFollowsItAsync()
    {
        var api = fixture.Api;
        api.Types.Register(RouteType);
        var ns = await fixture.CreateNamespaceAsync("eco-route");
        await using var harness = await OperatorHarness.StartAsync(fixture, [ns]);
        await CreateFacilityAsync(api, ns);
        await CreateAsync(api, new DaskCluster
        {
            Metadata = new V1ObjectMeta { Name = "alice", NamespaceProperty = ns },
            Spec = new DaskClusterSpec { FacilityRef = FacilityName, Tls = true, External = true, Worker = new DaskWorkerSpec { Replicas = 1 } },
        });

        await Eventually.TrueAsync(async () =>
            Condition((await GetAsync<DaskCluster>(api, ns, "alice"))!.Status.Conditions, DaskConditions.ExternalRouteReady) is { Status: "True", Reason: "Routed" },
            Wait, "ExternalRouteReady=True once the route is applied");
        var route = await api.GetAsync(RouteType, ns, DaskNames.Route("alice"), CancellationToken.None);
        route.Should().NotBeNull("the route was applied for real");
        route!["spec"]!["tls"]!["passthrough"]!.GetValue<bool>().Should().BeTrue();
        route["spec"]!["routes"]![0]!["match"]!.GetValue<string>().Should().Be($"HostSNI(`alice.dask.{Domain}`)");
        route["metadata"]!["ownerReferences"]![0]!["name"]!.GetValue<string>().Should().Be("alice");

        // external: false removes the route, and the condition with it.
        await PatchSpecAsync<DaskCluster>(api, ns, "alice", new JsonObject { ["external"] = false });
        await Eventually.TrueAsync(async () =>
            await api.GetAsync(RouteType, ns, DaskNames.Route("alice"), CancellationToken.None) is null
            && Condition((await GetAsync<DaskCluster>(api, ns, "alice"))!.Status.Conditions, DaskConditions.ExternalRouteReady) is null,
            Wait, "route and condition removed with external: false");
    }

    private async Task EnsureNamespaceAsync(string name)
    {
        var ns = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = name } };
        await fixture.Api.ApplyAsync(fixture.Api.Types.For<V1Namespace>(), ns, "ecosystem-test", force: true, CancellationToken.None);
    }
}
