using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Facility;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Tests.Facility;

public sealed class ServiceXBuilderTests
{
    private static ComponentObjects Build(FacilityResource facility) => FacilityBuilder.Build(facility, FacilityBuilderTests.Context)["servicex"];

    private static T Named<T>(ComponentObjects component, string name) where T : k8s.IKubernetesObject<V1ObjectMeta> =>
        component.Objects.OfType<T>().Single(o => o.Metadata.Name == name);

    private static string AppConf(ComponentObjects servicex) => Named<V1ConfigMap>(servicex, "cms-af-servicex-config").Data["app.conf"];

    private static FacilityResource WithRucio()
    {
        var facility = FacilityBuilderTests.Facility();
        facility.Spec.Rucio = new RucioSpec { Enabled = true, Host = "https://cms-rucio.cern.ch", AuthHost = "https://cms-rucio-auth.cern.ch" };
        facility.Spec.ServiceX.RucioFinder = new ServiceXRucioFinderSpec
        {
            X509Proxy = new XCacheOriginProxy { SecretName = "servicex-x509-proxy", Key = "x509up" }, Account = "cmsaf", Latitude = "40.82", Longitude = "-96.70",
        };
        return facility;
    }

    [Fact]
    public void Users_reach_the_app_through_the_token_gateway_while_transformers_use_the_internal_service()
    {
        var servicex = Build(FacilityBuilderTests.Facility());
        var pod = Named<V1Deployment>(servicex, "cms-af-servicex-app").Spec.Template.Spec;
        pod.Containers.Select(c => c.Name).Should().Equal("servicex-app", AuthGateway.ContainerName);
        var gatewayConfig = Named<V1ConfigMap>(servicex, "cms-af-servicex-gateway").Data[AuthGateway.ConfigKey];
        gatewayConfig.Should().Contain("ProxyPass / http://127.0.0.1:5000/").And.Contain("<LocationMatch \"^/servicex$\">")
            .And.Contain("Require claim iss:https://cmsaf-jh.unl.edu/issuer");

        Named<V1Service>(servicex, "cms-af-servicex-app").Spec.Ports.Single().TargetPort.Value.Should().Be("8080");
        Named<V1Service>(servicex, "cms-af-servicex-app-internal").Spec.Ports.Single().TargetPort.Value.Should().Be("5000");
        Named<V1Ingress>(servicex, "cms-af-servicex-app").Spec.Rules.Single().Http.Paths.Single().Backend.Service.Name.Should().Be("cms-af-servicex-app");
        AppConf(servicex).Should().Contain("ENABLE_AUTH = False").And.Contain("ADVERTISED_HOSTNAME = \"cms-af-servicex-app-internal:8000\"");
    }

    [Fact]
    public void Users_pods_may_reach_only_the_gateway_port_of_the_app()
    {
        var policy = Named<V1NetworkPolicy>(Build(FacilityBuilderTests.Facility()), "cms-af-servicex-app");
        policy.Spec.PolicyTypes.Should().Equal("Ingress");
        var gateway = policy.Spec.Ingress.Single(r => r.Ports.Single().Port.Value == "8080");
        gateway.FromProperty.Should().BeNullOrEmpty("anyone may present a token to the gateway");
        var app = policy.Spec.Ingress.Single(r => r.Ports.Single().Port.Value == "5000");
        var requirement = app.FromProperty.Single().PodSelector.MatchExpressions.Single();
        requirement.Key.Should().Be(Builders.Common.Labels.User);
        requirement.OperatorProperty.Should().Be("DoesNotExist", "notebooks and users' Dask pods carry the user label");
    }

    [Fact]
    public void ServiceX_own_auth_needs_admin_and_globus_and_replaces_the_gateway()
    {
        var facility = FacilityBuilderTests.Facility();
        facility.Spec.ServiceX.AuthEnabled = true;
        var invalid = Build(facility);
        invalid.IsValid.Should().BeFalse();
        invalid.Errors.Should().Contain(e => e.Contains("adminEmail")).And.Contain(e => e.Contains("globusCredentialsSecret"));

        facility.Spec.ServiceX.AdminEmail = "admin@unl.edu";
        facility.Spec.ServiceX.GlobusCredentialsSecret = "servicex-globus";
        facility.Spec.ServiceX.AccessTokenLifetimeSeconds = 3600;
        var servicex = Build(facility);
        servicex.IsValid.Should().BeTrue(string.Join("; ", servicex.Errors));
        var conf = AppConf(servicex);
        conf.Should().Contain("ENABLE_AUTH = True").And.Contain("JWT_ADMIN = \"admin@unl.edu\"")
            .And.Contain("JWT_ACCESS_TOKEN_EXPIRES = 3600").And.Contain("JWT_REFRESH_TOKEN_EXPIRES = False");
        var app = Named<V1Deployment>(servicex, "cms-af-servicex-app").Spec.Template.Spec;
        app.Containers.Should().ContainSingle();
        var env = app.Containers.Single().Env;
        env.Single(e => e.Name == "GLOBUS_CLIENT_ID").ValueFrom.SecretKeyRef.Should().BeEquivalentTo(new V1SecretKeySelector { Name = "servicex-globus", Key = "globusClientID" });
        env.Single(e => e.Name == "GLOBUS_CLIENT_SECRET").ValueFrom.SecretKeyRef.Key.Should().Be("globusClientSecret");
        env.Single(e => e.Name == "JWT_SECRET_KEY").ValueFrom.SecretKeyRef.Key.Should().Be("jwtSecretKey");
        Named<V1Service>(servicex, "cms-af-servicex-app").Spec.Ports.Single().TargetPort.Value.Should().Be("5000");
        servicex.Objects.OfType<V1NetworkPolicy>().Should().BeEmpty();
        servicex.Objects.OfType<V1ConfigMap>().Should().NotContain(c => c.Metadata.Name == "cms-af-servicex-gateway");
    }

    [Fact]
    public void Rucio_finder_gets_rucio_cfg_and_the_proxy_where_its_image_reads_them()
    {
        var servicex = Build(WithRucio());
        var pod = Named<V1Deployment>(servicex, "cms-af-servicex-did-finder-rucio").Spec.Template.Spec;
        var container = pod.Containers.Single();
        container.Image.Should().Be("sslhep/servicex-did-finder:v1.5.6");
        container.VolumeMounts.Single(m => m.MountPath == "/opt/rucio/etc/").Name.Should().Be("rucio-cfg");
        container.VolumeMounts.Single(m => m.MountPath == "/etc/grid-security-ro").Name.Should().Be("x509-secret");
        var proxy = pod.Volumes.Single(v => v.Name == "x509-secret").Secret;
        proxy.SecretName.Should().Be("servicex-x509-proxy");
        proxy.Items.Single().Should().BeEquivalentTo(new V1KeyToPath { Key = "x509up", Path = "x509up" });
        container.Env.Single(e => e.Name == "RUCIO_LATITUDE").Value.Should().Be("40.82");
        container.Env.Single(e => e.Name == "BROKER_URL").Value.Should().EndWith("?heartbeat=9000");

        var cfg = Named<V1ConfigMap>(servicex, "cms-af-servicex-rucio-config").Data["rucio.cfg"];
        cfg.Should().Contain("rucio_host = https://cms-rucio.cern.ch\n").And.Contain("auth_host = https://cms-rucio-auth.cern.ch\n")
            .And.Contain("auth_type = x509_proxy\n").And.Contain("account = cmsaf\n").And.Contain("client_x509_proxy = $X509_USER_PROXY\n")
            .And.NotContain("auth_token_file_path");
        AppConf(servicex).Should().Contain("VALID_DID_SCHEMES = [\"rucio\", \"cernopendata\"]").And.Contain("DID_FINDER_DEFAULT_SCHEME = \"rucio\"");
        servicex.Notices.Should().ContainSingle(n => n.Type == ServiceXBuilder.RucioFinderConditionType && n.Status);
    }

    [Theory]
    [InlineData("proxy", "spec.serviceX.rucioFinder.x509Proxy")]
    [InlineData("account", "spec.serviceX.rucioFinder.account")]
    [InlineData("rucio", "spec.rucio")]
    public void Rucio_finder_without_a_piece_is_not_deployed_and_a_condition_says_which(string missing, string named)
    {
        var facility = WithRucio();
        switch (missing)
        {
            case "proxy": facility.Spec.ServiceX.RucioFinder.X509Proxy = null; break;
            case "account": facility.Spec.ServiceX.RucioFinder.Account = null; break;
            default: facility.Spec.Rucio.Enabled = false; break;
        }
        var servicex = Build(facility);
        servicex.IsValid.Should().BeTrue("the other finders and the app still run");
        servicex.Objects.OfType<V1Deployment>().Should().NotContain(d => d.Metadata.Name == "cms-af-servicex-did-finder-rucio");
        servicex.Objects.OfType<V1ConfigMap>().Should().NotContain(c => c.Metadata.Name == "cms-af-servicex-rucio-config");
        AppConf(servicex).Should().Contain("VALID_DID_SCHEMES = [\"cernopendata\"]").And.Contain("DID_FINDER_DEFAULT_SCHEME = \"cernopendata\"");
        var notice = servicex.Notices.Single();
        notice.Type.Should().Be("ServiceXRucioFinderReady");
        notice.Status.Should().BeFalse();
        notice.Reason.Should().Be("MissingCredentials");
        notice.Message.Should().Contain(named);
    }

    [Fact]
    public void No_rucio_condition_when_the_finder_is_not_requested()
    {
        var facility = FacilityBuilderTests.Facility();
        facility.Spec.ServiceX.DidFinders = ["cernopendata"];
        Build(facility).Notices.Should().BeEmpty();
    }
}
