using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Facility;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Tests.Facility;

public sealed class MlflowBuilderTests
{
    private static ComponentObjects Build(FacilityResource? facility = null) =>
        FacilityBuilder.Build(facility ?? FacilityBuilderTests.Facility(), FacilityBuilderTests.Context)["mlflow"];

    private static V1PodSpec Pod(ComponentObjects mlflow) =>
        mlflow.Objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "cms-af-mlflow").Spec.Template.Spec;

    [Fact]
    public void Default_image_is_the_upstream_full_variant_with_the_postgres_driver_and_boto3()
    {
        // mlflow/mlflow docker/README.md: mlflow:VERSION-full has the database drivers and S3 support, from v3.9.0 on;
        // the plain image has neither (issue 9513), and the server exits at start with a postgresql:// backend.
        var image = new MlflowSpec().Image;
        image.Should().StartWith("ghcr.io/mlflow/mlflow:v").And.EndWith("-full");
        var version = Version.Parse(image["ghcr.io/mlflow/mlflow:v".Length..^"-full".Length]);
        version.Should().BeGreaterThanOrEqualTo(new Version(3, 9, 0));
        var facility = FacilityBuilderTests.Facility();
        facility.Spec.Mlflow.Image = "registry.example.org/mlflow-with-drivers:1";
        Pod(Build(facility)).Containers.Single(c => c.Name == "mlflow").Image.Should().Be("registry.example.org/mlflow-with-drivers:1");
    }

    [Fact]
    public void Server_listens_on_loopback_and_everything_else_goes_through_the_token_gateway()
    {
        var mlflow = Build();
        var pod = Pod(mlflow);
        var server = pod.Containers.Single(c => c.Name == "mlflow");
        server.Command.Should().ContainInOrder("--host", "127.0.0.1", "--port", "5000");
        server.Ports.Should().BeNullOrEmpty("nothing outside the pod may reach the server itself");
        server.ReadinessProbe.HttpGet.Port.Value.Should().Be("8080");
        server.ReadinessProbe.HttpGet.Path.Should().Be("/health");

        var gateway = pod.Containers.Single(c => c.Name == AuthGateway.ContainerName);
        gateway.Image.Should().Be(new AuthGatewaySpec().Image);
        gateway.Command.Should().Equal("apache2", "-DFOREGROUND", "-f", "/etc/analysisfacility/auth-gateway/httpd.conf");
        var configMap = mlflow.Objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == "cms-af-mlflow-gateway");
        pod.Volumes.Single(v => v.Name == "auth-gateway-config").ConfigMap.Name.Should().Be(configMap.Metadata.Name);
        configMap.Data[AuthGateway.ConfigKey].Should().Contain("OIDCOAuthVerifyJwksUri https://cmsaf-jh.unl.edu/issuer/jwks")
            .And.Contain("ProxyPass / http://127.0.0.1:5000/").And.Contain("Require claim aud:https://xcache.cmsaf-jh.unl.edu");

        var service = mlflow.Objects.OfType<V1Service>().Single(s => s.Metadata.Name == "cms-af-mlflow");
        service.Spec.Ports.Single().TargetPort.Value.Should().Be("8080");
        mlflow.Objects.OfType<V1Ingress>().Single(i => i.Metadata.Name == "cms-af-mlflow").Spec.Rules.Single().Http.Paths.Single().Backend.Service.Name.Should().Be(service.Metadata.Name);
    }

    [Fact]
    public void A_changed_gateway_configuration_rolls_the_pod_since_httpd_reads_it_at_start()
    {
        static string Hash(ComponentObjects mlflow) => mlflow.Objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "cms-af-mlflow")
            .Spec.Template.Metadata.Annotations[MlflowBuilder.AuthGatewayConfigAnnotation];
        var facility = FacilityBuilderTests.Facility();
        facility.Spec.Tokens.Audiences.Add("https://mlflow.cmsaf-jh.unl.edu");
        Hash(Build(facility)).Should().NotBe(Hash(Build()));
        Hash(Build()).Should().Be(Hash(Build()), "the same spec gives the same pod");
    }

    [Fact]
    public void Without_audiences_the_facility_tokens_cannot_be_checked_and_mlflow_is_not_built()
    {
        var facility = FacilityBuilderTests.Facility();
        facility.Spec.Tokens.Audiences = [];
        var mlflow = Build(facility);
        mlflow.IsValid.Should().BeFalse();
        mlflow.Errors.Should().ContainSingle(e => e.Contains("MLflow") && e.Contains("spec.tokens.audiences"));
        mlflow.Objects.Should().BeEmpty();
    }
}
