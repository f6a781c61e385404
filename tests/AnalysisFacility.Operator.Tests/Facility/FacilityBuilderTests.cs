using System.Text;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.Facility;
using k8s;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Tests.Facility;

public sealed class FacilityBuilderTests
{
    internal static readonly FacilityContext Context = new()
    {
        IssuerServiceHost = "analysisfacility-operator.af-system.svc.cluster.local",
        IssuerServicePort = 8080,
        SpawnerConfigMapName = "af-spawner",
        ScitokensIdentities = [new ScitokensIdentity("7f3c-alice", "alice@cern.ch"), new ScitokensIdentity("9a1b-bob", "bob")],
        NewSecretValue = bytes => new string('x', bytes),
        CondorTls = new Dictionary<string, byte[]> { ["tls.crt"] = "cert"u8.ToArray(), ["tls.key"] = "key"u8.ToArray(), ["ca.crt"] = "ca"u8.ToArray() },
    };

    internal static FacilityResource Facility()
    {
        var facility = new FacilityResource
        {
            Metadata = new V1ObjectMeta { Name = "cms-af", NamespaceProperty = "cmsaf" },
            Spec = new AnalysisFacilitySpec { Tokens = new TokenIssuerSpec { Issuer = "https://cmsaf-jh.unl.edu/issuer", Audiences = ["https://xcache.cmsaf-jh.unl.edu"] } },
        };
        var spec = facility.Spec;
        spec.Hub.Host = "cmsaf-jh.unl.edu";
        spec.Hub.TlsSecretName = "cmsaf-tls";
        spec.Hub.IngressClassName = "nginx";
        spec.Hub.Authentication = new HubAuthentication
        {
            OAuth = new OAuthSpec
            {
                AuthorizeUrl = "https://cms-auth.web.cern.ch/authorize", TokenUrl = "https://cms-auth.web.cern.ch/token",
                UserdataUrl = "https://cms-auth.web.cern.ch/userinfo",
                ClientIdSecretRef = new SecretKeyReference { Name = "jhub-cms-auth", Key = "client_id" },
                ClientSecretSecretRef = new SecretKeyReference { Name = "jhub-cms-auth", Key = "client_secret" },
            },
        };
        spec.HTCondor.Execute = new ExecuteSpec { Replicas = 3, Resources = new ComputeResources { Cpu = "8", Memory = "16Gi" } };
        spec.ServiceX.Enabled = true;
        spec.ServiceX.Host = "servicex.cmsaf-jh.unl.edu";
        spec.Triton.Enabled = true;
        spec.Triton.Resources = new ComputeResources { Cpu = "4", Memory = "16Gi", Gpus = 1 };
        spec.Triton.ModelRepository = new S3BucketSpec { Host = "rook-ceph-rgw-my-store.rook-ceph.svc", Port = 80, Bucket = "triton-models", CredentialsSecret = "triton-bucket" };
        spec.Mlflow.Enabled = true;
        spec.Mlflow.Host = "mlflow.cmsaf-jh.unl.edu";
        spec.Mlflow.ArtifactStore = new S3BucketSpec { Host = "rook-ceph-rgw-my-store.rook-ceph.svc", Bucket = "mlflow-artifacts", CredentialsSecret = "mlflow-bucket" };
        spec.UserStore = new UserStoreSpec
        {
            Enabled = true, SourcePath = "/tier2/cms/store/user", TargetPath = "/mnt/cms/store/user", ClaimName = "cms-store",
            Users = [new StoreUserMapping { User = "oksana.shadura@cern.ch", StoreName = "oshadura" }],
            MapByEmailLocalPart = true,
        };
        return facility;
    }

    private static T Single<T>(ComponentObjects component, string name) where T : IKubernetesObject<V1ObjectMeta> =>
        component.Objects.OfType<T>().Single(o => o.Metadata.Name == name);

    [Fact]
    public void Every_object_has_kind_name_namespace_and_the_facility_labels()
    {
        var result = FacilityBuilder.Build(Facility(), Context);
        result.Errors.Should().BeEmpty();
        result.Components.Select(c => c.Component).Should().Equal("hub", "htcondor", "servicex", "triton", "mlflow", "userstore", "cvmfs");
        foreach (var obj in result.Objects)
        {
            obj.ApiVersion.Should().NotBeNullOrEmpty();
            obj.Kind.Should().NotBeNullOrEmpty();
            obj.Metadata.Name.Should().MatchRegex(Patterns.DnsSubdomain);
            if (obj is not V1PersistentVolume) obj.Metadata.NamespaceProperty.Should().Be("cmsaf", obj.Metadata.Name);
            obj.Metadata.Labels[Labels.Facility].Should().Be("cms-af");
            obj.Metadata.Labels[Labels.ManagedBy].Should().Be(Labels.ManagedByValue);
        }
        result.Objects.GroupBy(o => (o.Kind, o.Metadata.Name)).Should().OnlyContain(g => g.Count() == 1, "names must not collide");
    }

    [Fact]
    public void Building_twice_gives_identical_objects_and_keeps_existing_secret_values()
    {
        var first = FacilityBuilder.Build(Facility(), Context);
        var second = FacilityBuilder.Build(Facility(), Context with { NewSecretValue = _ => "different" });
        var pool = new FacilityNames("cms-af").CondorPoolPassword;
        var kept = Context with
        {
            NewSecretValue = _ => "different",
            ExistingSecrets = new Dictionary<string, IDictionary<string, byte[]>> { [pool] = new Dictionary<string, byte[]> { ["POOL"] = "old-key"u8.ToArray() } },
        };
        string.Join("\n", first.Objects.Where(o => o is not V1Secret).Select(ApiJson.Serialize))
            .Should().Be(string.Join("\n", second.Objects.Where(o => o is not V1Secret).Select(ApiJson.Serialize)));
        var poolSecret = Single<V1Secret>(FacilityBuilder.Build(Facility(), kept)["htcondor"], pool);
        Encoding.UTF8.GetString(poolSecret.Data["POOL"]).Should().Be("old-key");
    }

    [Fact]
    public void Hub_runs_hub_and_proxy_with_secrets_from_refs_and_the_spawner_module_mounted()
    {
        var hub = FacilityBuilder.Build(Facility(), Context)["hub"];
        var deployment = Single<V1Deployment>(hub, "cms-af-hub");
        var pod = deployment.Spec.Template.Spec;
        pod.ServiceAccountName.Should().Be("cms-af-hub");
        var container = pod.Containers.Single(c => c.Name == "hub");
        container.Image.Should().Be("quay.io/jupyterhub/k8s-hub:3.3.8");
        container.ReadinessProbe.HttpGet.Path.Should().Be("/hub/health");
        container.Env.Should().Contain(e => e.Name == "OAUTH_CLIENT_SECRET" && e.ValueFrom.SecretKeyRef.Name == "jhub-cms-auth" && e.ValueFrom.SecretKeyRef.Key == "client_secret");
        container.Env.Should().Contain(e => e.Name == "OAUTH_CLIENT_ID" && e.ValueFrom.SecretKeyRef.Key == "client_id");
        container.Env.Should().Contain(e => e.Name == "AF_FACILITY_NAMESPACE" && e.Value == "cmsaf");
        pod.Volumes.Should().Contain(v => v.Name == "spawner" && v.ConfigMap.Name == "af-spawner");
        container.Env.Should().Contain(e => e.Name == "PYTHONPATH" && e.Value == HubRuntime.SpawnerModuleDirectory);
        pod.Containers.Single(c => c.Name == "proxy").ReadinessProbe.HttpGet.Path.Should().Be("/_chp_healthz");
        deployment.Spec.Template.Metadata.Annotations.Should().ContainKey(HubBuilder.ConfigHashAnnotation);

        var config = Single<V1ConfigMap>(hub, "cms-af-hub-config").Data["jupyterhub_config.py"];
        config.Should().Contain("c.JupyterHub.spawner_class = \"analysisfacility_spawner.UserSessionSpawner\"");
        config.Should().Contain("c.GenericOAuthenticator.client_secret = os.environ[\"OAUTH_CLIENT_SECRET\"]");
        config.Should().Contain("c.GenericOAuthenticator.allow_all = True", "no allowed groups means every authenticated user");
        config.Should().Contain("\"--timeout=3600\"").And.Contain("\"--cull-every=600\"");

        var role = Single<V1Role>(hub, "cms-af-hub");
        role.Rules.Should().Contain(r => r.ApiGroups.Contains("analysisfacility.io") && r.Resources.Contains("usersessions") && r.Verbs.Contains("create"));
    }

    [Fact]
    public void Hub_ingress_routes_the_issuer_path_to_the_external_name_issuer_service()
    {
        var hub = FacilityBuilder.Build(Facility(), Context)["hub"];
        var issuer = Single<V1Service>(hub, "cms-af-issuer");
        issuer.Spec.Type.Should().Be("ExternalName");
        issuer.Spec.ExternalName.Should().Be(Context.IssuerServiceHost);
        var ingress = Single<V1Ingress>(hub, "cms-af-hub");
        ingress.Spec.IngressClassName.Should().Be("nginx");
        ingress.Spec.Tls.Single().SecretName.Should().Be("cmsaf-tls");
        var paths = ingress.Spec.Rules.Single(r => r.Host == "cmsaf-jh.unl.edu").Http.Paths;
        paths.Should().Contain(p => p.Path == "/issuer" && p.Backend.Service.Name == "cms-af-issuer" && p.Backend.Service.Port.Number == 8080);
        paths.Should().Contain(p => p.Path == "/" && p.Backend.Service.Name == "cms-af-hub" && p.Backend.Service.Port.Number == 80);
    }

    [Fact]
    public void HTCondor_pool_has_cm_schedd_with_retained_spool_and_execute_sharing_one_config()
    {
        var condor = FacilityBuilder.Build(Facility(), Context)["htcondor"];
        var cm = Single<V1Service>(condor, "cms-af-condor-cm");
        cm.Spec.Ports.Single().Port.Should().Be(9618);
        var schedd = Single<V1StatefulSet>(condor, "cms-af-condor-schedd");
        schedd.Spec.VolumeClaimTemplates.Single().Metadata.Annotations[DataRetention.Annotation].Should().Be("true");
        schedd.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted.Should().Be("Retain");
        schedd.Spec.Template.Spec.Containers[0].VolumeMounts.Should().Contain(m => m.Name == "spool" && m.MountPath == "/var/lib/condor/spool");
        var execute = Single<V1Deployment>(condor, "cms-af-condor-execute");
        execute.Spec.Replicas.Should().Be(3);
        execute.Spec.Template.Spec.Containers[0].Resources.Limits["cpu"].ToString().Should().Be("8");
        foreach (var pod in new[] { schedd.Spec.Template.Spec, execute.Spec.Template.Spec })
        {
            pod.Volumes.Should().Contain(v => v.ConfigMap != null && v.ConfigMap.Name == "cms-af-condor-config");
            pod.Volumes.Should().Contain(v => v.Secret != null && v.Secret.SecretName == "cms-af-condor-pool-password");
            // The map file grows with every login: it must come from a directory mount (subPath mounts never update).
            var container = pod.Containers[0];
            container.VolumeMounts.Should().Contain(m => m.MountPath == "/etc/condor/mapfiles" && m.SubPath == null && m.Name == "mapfiles");
            container.VolumeMounts.Should().NotContain(m => m.SubPath == "scitokens.map");
            pod.Volumes.Single(v => v.Name == "mapfiles").ConfigMap.Items.Single().Key.Should().Be("scitokens.map");
            container.Command.Should().Equal("/bin/sh", "-c", HTCondorBuilder.MasterScript());
        }
        condor.Workloads.Select(w => w.Name).Should().BeEquivalentTo(["cms-af-condor-cm", "cms-af-condor-schedd", "cms-af-condor-execute"]);

        var config = Single<V1ConfigMap>(condor, "cms-af-condor-config").Data;
        config["00-pool.conf"].Should().Contain("SEC_DAEMON_AUTHENTICATION_METHODS = FS, IDTOKENS, PASSWORD")
            .And.Contain("COLLECTOR_HOST = $(CONDOR_HOST):9618").And.Contain("CERTIFICATE_MAPFILE = /etc/condor/mapfiles/scitokens.map");
        config["10-submit.conf"].Should().Contain("SCITOKENS_SERVER_AUDIENCE = cms-af-condor-schedd.cmsaf.svc:9618");
        config["10-execute.conf"].Should().Contain("NUM_CPUS = 8").And.Contain("MEMORY = 16384").And.Contain("use FEATURE : PartitionableSlot");
        config["scitokens.map"].Should().Contain(@"SCITOKENS ^https\:\/\/cmsaf\-jh\.unl\.edu\/issuer,7f3c\-alice$ " + PoolIdentities.ForHubUser("alice@cern.ch") + "@cms-af.cmsaf");
    }

    [Fact]
    public void Triton_requests_gpus_reads_models_from_s3_and_is_ready_on_v2_health_ready()
    {
        var triton = FacilityBuilder.Build(Facility(), Context)["triton"];
        var container = Single<V1Deployment>(triton, "cms-af-triton").Spec.Template.Spec.Containers.Single();
        container.Command.Should().Contain("--model-repository=s3://rook-ceph-rgw-my-store.rook-ceph.svc:80/triton-models");
        container.Resources.Limits["nvidia.com/gpu"].ToString().Should().Be("1");
        container.ReadinessProbe.HttpGet.Path.Should().Be("/v2/health/ready");
        container.Env.Select(e => (e.Name, e.ValueFrom.SecretKeyRef.Name)).Should().BeEquivalentTo(
            [("AWS_ACCESS_KEY_ID", "triton-bucket"), ("AWS_SECRET_ACCESS_KEY", "triton-bucket")]);
        Single<V1Service>(triton, "cms-af-triton").Spec.Ports.Select(p => p.Port).Should().Equal(8000, 8001, 8002);
        TritonBuilder.UserCredentialEnvironment(Facility().Spec).Should().BeEmpty("users get no key unless the admin gives them one of their own");
    }

    [Fact]
    public void Triton_user_key_must_not_be_the_server_key()
    {
        var facility = Facility();
        facility.Spec.Triton.UserCredentialsSecret = facility.Spec.Triton.ModelRepository!.CredentialsSecret;
        TritonBuilder.Validate(facility.Spec).Should().ContainSingle(e => e.Contains("userCredentialsSecret"));
        TritonBuilder.UserCredentialEnvironment(facility.Spec).Should().BeEmpty();
    }

    [Fact]
    public void Mlflow_creates_postgres_with_retained_claim_and_serves_artifacts_from_s3()
    {
        var mlflow = FacilityBuilder.Build(Facility(), Context)["mlflow"];
        var db = Single<V1StatefulSet>(mlflow, "cms-af-mlflow-db");
        db.Spec.VolumeClaimTemplates.Single().Metadata.Annotations[DataRetention.Annotation].Should().Be("true");
        mlflow.Objects.OfType<V1Secret>().Should().ContainSingle(s => s.Metadata.Name == "cms-af-mlflow-db");
        var container = Single<V1Deployment>(mlflow, "cms-af-mlflow").Spec.Template.Spec.Containers.Single(c => c.Name == "mlflow");
        container.Command.Should().ContainInOrder("--backend-store-uri", "$(MLFLOW_BACKEND_STORE_URI)");
        container.Command.Should().ContainInOrder("--artifacts-destination", "s3://mlflow-artifacts");
        container.Env.Single(e => e.Name == "MLFLOW_BACKEND_STORE_URI").Value.Should().Be("postgresql://mlflow:$(PGPASSWORD)@cms-af-mlflow-db.cmsaf.svc:5432/mlflow");
        container.Env.Select(e => e.Name).Should().ContainInOrder("PGPASSWORD", "MLFLOW_BACKEND_STORE_URI");
        Single<V1Ingress>(mlflow, "cms-af-mlflow").Spec.Rules.Single().Host.Should().Be("mlflow.cmsaf-jh.unl.edu");

        var external = Facility();
        external.Spec.Mlflow.BackendStore.ExternalUriSecretRef = new SecretKeyReference { Name = "mlflow-db", Key = "uri" };
        var externalMlflow = FacilityBuilder.Build(external, Context)["mlflow"];
        externalMlflow.Objects.OfType<V1StatefulSet>().Should().BeEmpty();
    }

    [Fact]
    public void ServiceX_builds_app_broker_database_minio_finders_and_generators()
    {
        var servicex = FacilityBuilder.Build(Facility(), Context)["servicex"];
        servicex.Workloads.Select(w => w.Name).Should().Contain(["cms-af-servicex-app", "cms-af-servicex-rabbitmq", "cms-af-servicex-postgresql",
            "cms-af-servicex-minio", "cms-af-servicex-did-finder-cernopendata", "cms-af-servicex-code-gen-uproot"]);
        // No spec.rucio and no proxy: the Rucio finder is not deployed and its scheme is not offered.
        servicex.Workloads.Select(w => w.Name).Should().NotContain("cms-af-servicex-did-finder-rucio");
        Single<V1ConfigMap>(servicex, "cms-af-servicex-config").Data["app.conf"].Should().Contain("ENABLE_AUTH = False")
            .And.Contain("VALID_DID_SCHEMES = [\"cernopendata\"]");
    }

    [Fact]
    public void User_store_runs_privileged_bindfs_with_bidirectional_target_and_retained_hostpath_volume()
    {
        var store = FacilityBuilder.Build(Facility(), Context)["userstore"];
        var daemon = store.Objects.OfType<V1DaemonSet>().Single();
        var container = daemon.Spec.Template.Spec.Containers.Single();
        container.SecurityContext.Privileged.Should().BeTrue();
        container.Command.Should().Equal("bindfs", "-f", "--force-user=1000", "--force-group=100", "--perms=u=rwX:g=rwX:o=rX", "-o", "allow_other", "/source", "/target");
        container.VolumeMounts.Single(m => m.Name == "target").MountPropagation.Should().Be("Bidirectional");
        daemon.Spec.Template.Spec.Volumes.Single(v => v.Name == "source").HostPath.Path.Should().Be("/tier2/cms/store/user");
        var volume = store.Objects.OfType<V1PersistentVolume>().Single();
        volume.Spec.PersistentVolumeReclaimPolicy.Should().Be("Retain");
        volume.Spec.HostPath.Path.Should().Be("/mnt/cms/store/user");
        var claim = store.Objects.OfType<V1PersistentVolumeClaim>().Single();
        claim.Metadata.Name.Should().Be("cms-store");
        claim.Spec.VolumeName.Should().Be(volume.Metadata.Name);
        DataRetention.IsRetained(claim).Should().BeTrue();
        DataRetention.IsRetained(volume).Should().BeTrue();
    }

    [Theory]
    [InlineData("oksana.shadura@cern.ch", "oshadura", false)]
    [InlineData("kbloom@unl.edu", "kbloom", false)]
    [InlineData("no-email-user", "nobody", true)]
    [InlineData("oshadura@other.org", "nobody", true)]
    public void Store_mapping_uses_the_list_then_the_email_local_part_else_nobody_read_only(string user, string subPath, bool readOnly)
    {
        var assignment = StoreMapping.Resolve(Facility().Spec.UserStore, user);
        assignment.SubPath.Should().Be(subPath);
        assignment.ReadOnly.Should().Be(readOnly);
        assignment.ClaimName.Should().Be("cms-store");
    }

    [Fact]
    public void Invalid_components_report_clear_errors_and_produce_no_objects()
    {
        var facility = Facility();
        facility.Spec.Hub.Authentication.OAuth!.ClientSecretSecretRef = new SecretKeyReference();
        facility.Spec.Triton.ModelRepository = null;
        facility.Spec.UserStore.Users.Add(new StoreUserMapping { User = "oksana.shadura@cern.ch", StoreName = "oshadura2" });
        facility.Spec.UserStore.Users.Add(new StoreUserMapping { User = "someone@cern.ch", StoreName = "oshadura" });
        var result = FacilityBuilder.Build(facility, Context);
        result.Errors.Should().Contain(e => e.Contains("clientSecretSecretRef"));
        result.Errors.Should().Contain(e => e.Contains("spec.triton.modelRepository"));
        result.Errors.Should().Contain(e => e.Contains("user 'oksana.shadura@cern.ch'"));
        result.Errors.Should().Contain(e => e.Contains("store name 'oshadura'"));
        foreach (var name in new[] { "hub", "triton", "userstore" })
        {
            result[name].IsValid.Should().BeFalse();
            result[name].Objects.Should().BeEmpty();
        }
        result["htcondor"].Objects.Should().NotBeEmpty("valid components are still built");

        var noPaths = Facility();
        noPaths.Spec.UserStore.SourcePath = null;
        FacilityBuilder.Validate(noPaths.Spec).Should().ContainSingle(e => e.Contains("spec.userStore.sourcePath is required"));
    }

    [Fact]
    public void Disabled_components_have_no_objects_and_status_lists_endpoints_of_enabled_ones()
    {
        var facility = Facility();
        facility.Spec.Triton.Enabled = false;
        var result = FacilityBuilder.Build(facility, Context);
        result["triton"].Enabled.Should().BeFalse();
        result["triton"].Objects.Should().BeEmpty();
        result.Components.Where(c => c.Enabled).Select(c => c.ConditionType).Should().NotContain("TritonReady").And.Contain("HubReady");
        var endpoints = FacilityBuilder.Endpoints(facility);
        endpoints.Hub.Should().Be("https://cmsaf-jh.unl.edu");
        endpoints.Collector.Should().Be("cms-af-condor-cm.cmsaf.svc:9618");
        endpoints.ServiceX.Should().Be("https://servicex.cmsaf-jh.unl.edu");
        endpoints.Mlflow.Should().Be("https://mlflow.cmsaf-jh.unl.edu");
        endpoints.Triton.Should().BeNull();
    }

    [Theory]
    [InlineData("1h", 3600)]
    [InlineData("1h30m", 5400)]
    [InlineData("45s", 45)]
    [InlineData("0s", 0)]
    public void Durations_parse_to_seconds(string text, long seconds) => Durations.ToSeconds(text).Should().Be(seconds);
}
