using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Dask;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.Operator.Controllers.Dask;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Tests.DaskController;

public sealed class DaskRenderingTests
{
    private static readonly FacilityResource Facility = new()
    {
        Metadata = new V1ObjectMeta { Name = "cms-af", NamespaceProperty = "users" },
        Spec = new AnalysisFacilitySpec { Domain = "coffea.casa", Dask = new DaskDefaults { MaxWorkersPerCluster = 5 } },
    };

    private static DaskCluster Cluster(Action<DaskClusterSpec> edit)
    {
        var cluster = new DaskCluster { Metadata = new V1ObjectMeta { Name = "alice", NamespaceProperty = "users" }, Spec = new DaskClusterSpec { FacilityRef = "cms-af" } };
        edit(cluster.Spec);
        return cluster;
    }

    [Fact]
    public void Renders_the_controllers_objects_with_placeholders_for_certificates_and_the_adaptive_minimum()
    {
        var objects = DaskPlanning.Render(Cluster(s => { s.User = "alice"; s.External = true; s.Adaptive = new DaskAdaptiveSpec { Minimum = 2, Maximum = 4 }; }),
            new RenderSet { Facilities = [Facility] });
        objects.Select(o => o.Kind).Should().BeEquivalentTo(["Service", "Deployment", "Deployment", "Secret", "IngressRouteTCP"]);
        var workers = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == DaskNames.Workers("alice"));
        workers.Spec.Replicas.Should().Be(2);
        workers.Spec.Template.Spec.Containers.Should().Contain(c => c.Name == "bearer-token-refresher");
        workers.Spec.Template.Spec.Containers.SelectMany(c => new[] { c.ReadinessProbe, c.LivenessProbe }).Where(p => p is not null)
            .Should().OnlyContain(p => p!.InitialDelaySeconds != 0, "a zero delay is omitted like the API server does");
        System.Text.Encoding.ASCII.GetString(objects.OfType<V1Secret>().Single().Data["scheduler.key"]).Should().Be(DaskPlanning.Placeholder);
    }

    [Fact]
    public void Refuses_a_missing_facility_and_an_invalid_spec_naming_the_field()
    {
        var set = new RenderSet { Facilities = [Facility] };
        FluentActions.Invoking(() => DaskPlanning.Render(Cluster(s => s.FacilityRef = "elsewhere"), set))
            .Should().Throw<ArgumentException>().WithMessage("*elsewhere*");
        FluentActions.Invoking(() => DaskPlanning.Render(Cluster(s => s.Adaptive = new DaskAdaptiveSpec { Minimum = 3, Maximum = 1 }), set))
            .Should().Throw<ArgumentException>().WithMessage("*spec.adaptive.maximum*");
        DaskPlanning.InitialWorkers(Cluster(s => s.Adaptive = new DaskAdaptiveSpec { Minimum = 1, Maximum = 3 }), 7).Should().Be(3);
    }
}
