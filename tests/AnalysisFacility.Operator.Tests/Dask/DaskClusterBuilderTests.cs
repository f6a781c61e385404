using System.Text.Json;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Certificates;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.Dask;
using k8s.Models;

namespace AnalysisFacility.Operator.Tests.Dask;

public sealed class DaskClusterBuilderTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly Lazy<IDictionary<string, byte[]>> TlsData = new(() =>
        DaskTls.Ensure(null, FacilityCertificateAuthority.Ensure(null, "cms-af", Now).Data, "alice", "users", "alice.dask.coffea.casa", Now).Data);

    private static DaskCluster Cluster(Action<DaskClusterSpec>? change = null)
    {
        var cluster = new DaskCluster { Metadata = new V1ObjectMeta { Name = "alice", NamespaceProperty = "users" } };
        cluster.Spec.FacilityRef = "cms-af";
        change?.Invoke(cluster.Spec);
        return cluster;
    }

    private static DaskBuildInput Input(int desired = 3, string? domain = "coffea.casa", DaskTokenDelivery? token = null, bool tls = true) =>
        new("cms-af", domain, new DaskDefaults(), desired, tls ? TlsData.Value : null, token);

    private static DaskClusterObjects Build(DaskCluster cluster, DaskBuildInput input)
    {
        var result = DaskClusterBuilder.Build(cluster, input);
        result.Errors.Should().BeEmpty();
        return result.Objects!;
    }

    private static Dictionary<string, string?> Env(V1Container container) => container.Env.ToDictionary(e => e.Name, e => (string?)e.Value);

    [Fact]
    public void Every_object_has_kind_name_namespace_and_labels()
    {
        var objects = Build(Cluster(s => s.External = true), Input());
        var all = new (string ApiVersion, string Kind, V1ObjectMeta Metadata)[]
        {
            (objects.SchedulerDeployment.ApiVersion, objects.SchedulerDeployment.Kind, objects.SchedulerDeployment.Metadata),
            (objects.SchedulerService.ApiVersion, objects.SchedulerService.Kind, objects.SchedulerService.Metadata),
            (objects.WorkerDeployment.ApiVersion, objects.WorkerDeployment.Kind, objects.WorkerDeployment.Metadata),
            (objects.TlsSecret!.ApiVersion, objects.TlsSecret.Kind, objects.TlsSecret.Metadata),
            (objects.ExternalRoute!.ApiVersion, objects.ExternalRoute.Kind, objects.ExternalRoute.Metadata),
        };
        foreach (var (apiVersion, kind, metadata) in all)
        {
            apiVersion.Should().NotBeNullOrEmpty();
            kind.Should().NotBeNullOrEmpty();
            metadata.Name.Should().NotBeNullOrEmpty();
            metadata.NamespaceProperty.Should().Be("users");
            metadata.Labels.Should().Contain(Labels.Instance, "alice").And.Contain(Labels.Facility, "cms-af").And.Contain(Labels.ManagedBy, Labels.ManagedByValue);
            metadata.OwnerReferences.Should().BeNull();
        }
        all.Select(o => o.Metadata.Name).Where((_, i) => i != 0 && i != 1).Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public void Scheduler_serves_comm_dashboard_and_the_http_api()
    {
        var objects = Build(Cluster(), Input());
        var service = objects.SchedulerService;
        service.Spec.Ports.Select(p => (p.Port, p.Name)).Should().BeEquivalentTo([(8786, "tcp-comm"), (8787, "http-dashboard")]);
        service.Spec.Selector.Should().BeEquivalentTo(objects.SchedulerDeployment.Spec.Selector.MatchLabels);
        objects.SchedulerDeployment.Spec.Template.Metadata.Labels.Should().Contain(service.Spec.Selector);

        var container = objects.SchedulerDeployment.Spec.Template.Spec.Containers.Single();
        container.Args.Should().ContainInOrder("dask", "scheduler").And.ContainInOrder("--protocol", "tls").And.ContainInOrder("--port", "8786");
        var routes = Env(container)[DaskEnvironment.HttpRoutes];
        routes.Should().Contain("'distributed.http.scheduler.api'").And.Contain("'distributed.http.health'").And.Contain("'distributed.http.scheduler.prometheus'");
        container.ReadinessProbe.HttpGet.Path.Should().Be("/health");
        container.ReadinessProbe.HttpGet.Port.Value.Should().Be("http-dashboard");
        container.LivenessProbe.Should().NotBeNull();
        objects.SchedulerDeployment.Spec.Replicas.Should().Be(1);
        objects.SchedulerDeployment.Spec.Strategy.Type.Should().Be("Recreate");
        objects.Addresses.Scheduler.Should().Be("tls://alice-scheduler.users.svc.cluster.local:8786");
        objects.Addresses.Api.Should().Be("http://alice-scheduler.users.svc.cluster.local:8787/api/v1");
    }

    [Fact]
    public void Tls_files_are_mounted_from_the_secret_and_named_in_the_dask_config()
    {
        var objects = Build(Cluster(), Input());
        objects.TlsSecret!.Data.Keys.Should().BeEquivalentTo("ca.crt", "scheduler.crt", "scheduler.key", "client.crt", "client.key");

        var scheduler = objects.SchedulerDeployment.Spec.Template.Spec;
        var env = Env(scheduler.Containers.Single());
        env[DaskEnvironment.TlsCaFile].Should().Be("/etc/dask/tls/ca.crt");
        env[DaskEnvironment.TlsSchedulerCert].Should().Be("/etc/dask/tls/scheduler.crt");
        env[DaskEnvironment.TlsSchedulerKey].Should().Be("/etc/dask/tls/scheduler.key");
        env[DaskEnvironment.RequireEncryption].Should().Be("True");
        scheduler.Volumes.Single().Secret.SecretName.Should().Be(objects.TlsSecret.Metadata.Name);
        scheduler.Containers.Single().VolumeMounts.Single().MountPath.Should().Be("/etc/dask/tls");

        var workerEnv = Env(objects.WorkerDeployment.Spec.Template.Spec.Containers.Single());
        workerEnv[DaskEnvironment.TlsWorkerCert].Should().Be("/etc/dask/tls/client.crt");
        workerEnv[DaskEnvironment.TlsWorkerKey].Should().Be("/etc/dask/tls/client.key");

        objects.SchedulerDeployment.Spec.Template.Metadata.Annotations.Should().ContainKey(DaskClusterBuilder.TlsChecksumAnnotation);
    }

    [Fact]
    public void Certificate_renewal_rolls_the_pods()
    {
        var first = Build(Cluster(), Input());
        var renewed = new Dictionary<string, byte[]>(TlsData.Value) { [DaskTls.ClientCertificateKey] = "other"u8.ToArray() };
        var second = Build(Cluster(), Input() with { TlsSecretData = renewed });
        second.WorkerDeployment.Spec.Template.Metadata.Annotations[DaskClusterBuilder.TlsChecksumAnnotation]
            .Should().NotBe(first.WorkerDeployment.Spec.Template.Metadata.Annotations[DaskClusterBuilder.TlsChecksumAnnotation]);
    }

    [Fact]
    public void Without_tls_there_is_no_secret_and_plain_tcp()
    {
        var objects = Build(Cluster(s => s.Tls = false), Input(tls: false));
        objects.TlsSecret.Should().BeNull();
        objects.Addresses.Scheduler.Should().StartWith("tcp://");
        var env = Env(objects.SchedulerDeployment.Spec.Template.Spec.Containers.Single());
        env.Keys.Should().NotContain(DaskEnvironment.TlsCaFile);
        objects.WorkerDeployment.Spec.Template.Spec.Containers.Single().Args.Should().Contain("tcp://alice-scheduler.users.svc.cluster.local:8786");
    }

    [Fact]
    public void Workers_get_replicas_threads_memory_and_resources()
    {
        var objects = Build(Cluster(s => s.Worker.Resources = new ComputeResources { Cpu = "3", Memory = "4Gi", Gpus = 1 }), Input(desired: 7));
        var deployment = objects.WorkerDeployment;
        deployment.Spec.Replicas.Should().Be(7);
        var container = deployment.Spec.Template.Spec.Containers.Single();
        container.Args.Should().ContainInOrder("dask", "worker", "tls://alice-scheduler.users.svc.cluster.local:8786");
        container.Args.Should().ContainInOrder("--nthreads", "3").And.ContainInOrder("--memory-limit", (4L << 30).ToString())
            .And.ContainInOrder("--name", "$(DASK_WORKER_NAME)");
        container.Env.Single(e => e.Name == DaskEnvironment.WorkerName).ValueFrom.FieldRef.FieldPath.Should().Be("metadata.name");
        container.Resources.Limits["cpu"].ToString().Should().Be("3");
        container.Resources.Limits["memory"].ToString().Should().Be("4Gi");
        container.Resources.Limits["nvidia.com/gpu"].ToString().Should().Be("1");
        container.Resources.Requests["memory"].ToString().Should().Be("4Gi");
        container.ReadinessProbe.HttpGet.Path.Should().Be("/health");
        container.Image.Should().Be(new DaskDefaults().WorkerImage);
    }

    [Fact]
    public void Facility_defaults_apply_when_worker_resources_are_empty()
    {
        var (memory, threads) = DaskClusterBuilder.WorkerCapacity(new DaskWorkerSpec(), new DaskDefaults { WorkerCores = "2", WorkerMemory = "6Gi" });
        memory.Should().Be(6L << 30);
        threads.Should().Be(2);
        DaskClusterBuilder.WorkerCapacity(new DaskWorkerSpec { Threads = 5 }, new DaskDefaults { WorkerCores = "500m" }).Threads.Should().Be(5);
        DaskClusterBuilder.WorkerCapacity(new DaskWorkerSpec(), new DaskDefaults { WorkerCores = "500m" }).Threads.Should().Be(1);
    }

    [Fact]
    public void External_route_is_a_traefik_sni_passthrough_to_the_scheduler()
    {
        var objects = Build(Cluster(s => s.External = true), Input());
        var route = objects.ExternalRoute!;
        route.ApiVersion.Should().Be("traefik.io/v1alpha1");
        route.Kind.Should().Be("IngressRouteTCP");
        var json = JsonDocument.Parse(route.Spec.ToJsonString()).RootElement;
        var rule = json.GetProperty("routes")[0];
        rule.GetProperty("match").GetString().Should().Be("HostSNI(`alice.dask.coffea.casa`)");
        rule.GetProperty("services")[0].GetProperty("name").GetString().Should().Be(objects.SchedulerService.Metadata.Name);
        rule.GetProperty("services")[0].GetProperty("port").GetInt32().Should().Be(8786);
        json.GetProperty("tls").GetProperty("passthrough").GetBoolean().Should().BeTrue();
        objects.Addresses.External.Should().Be("tls://alice.dask.coffea.casa:8786");

        Build(Cluster(), Input()).ExternalRoute.Should().BeNull();
    }

    [Fact]
    public void User_clusters_get_the_token_file_from_the_delivery()
    {
        var delivery = new DaskTokenDelivery("/var/run/tokens/token",
            [new V1Volume { Name = "token", EmptyDir = new V1EmptyDirVolumeSource() }],
            [new V1VolumeMount { Name = "token", MountPath = "/var/run/tokens" }],
            [new V1Container { Name = "token-init", Image = "busybox:1.36" }],
            [new V1Container { Name = "token-refresh", Image = "busybox:1.36" }], FsGroup: 100);
        var objects = Build(Cluster(s => s.User = "alice@unl.edu"), Input(token: delivery));

        foreach (var pod in new[] { objects.SchedulerDeployment.Spec.Template.Spec, objects.WorkerDeployment.Spec.Template.Spec })
        {
            var dask = pod.Containers[0];
            Env(dask)[DaskEnvironment.BearerTokenFile].Should().Be("/var/run/tokens/token");
            dask.VolumeMounts.Should().Contain(m => m.Name == "token");
            pod.Volumes.Should().Contain(v => v.Name == "token");
            pod.InitContainers.Should().ContainSingle(c => c.Name == "token-init");
            pod.Containers.Should().Contain(c => c.Name == "token-refresh");
            pod.SecurityContext.FsGroup.Should().Be(100, "the helpers read the root-owned token Secret through the pod's group");
        }
        objects.WorkerDeployment.Metadata.Labels[Labels.User].Should().Be("alice-unl.edu");

        var withoutDelivery = () => DaskClusterBuilder.Build(Cluster(s => s.User = "alice@unl.edu"), Input());
        withoutDelivery.Should().Throw<ArgumentException>().WithMessage("*token delivery*");
    }

    [Fact]
    public void User_environment_is_added_but_cannot_override_operator_settings()
    {
        var objects = Build(Cluster(s => s.Worker.Env.Add(new EnvironmentVariable { Name = "X509_CERT_DIR", Value = "/etc/grid-security/certificates" })), Input());
        Env(objects.WorkerDeployment.Spec.Template.Spec.Containers.Single())["X509_CERT_DIR"].Should().Be("/etc/grid-security/certificates");

        var result = DaskClusterBuilder.Build(Cluster(s => s.Scheduler.Env.Add(new EnvironmentVariable { Name = DaskEnvironment.HttpRoutes, Value = "[]" })), Input());
        result.IsValid.Should().BeFalse();
        result.Errors.Should().ContainSingle().Which.Should().Contain("spec.scheduler.env[0].name").And.Contain("set by the operator");
    }

    [Theory]
    [InlineData("maximum-below-minimum", "spec.adaptive.maximum (2) is below spec.adaptive.minimum (5)")]
    [InlineData("maximum-above-facility", "exceeds the facility's spec.dask.maxWorkersPerCluster (50)")]
    [InlineData("bad-memory", "spec.worker.resources.memory '6 gigs' is not a positive Kubernetes quantity")]
    [InlineData("zero-cpu", "spec.scheduler.resources.cpu '0' is not a positive Kubernetes quantity")]
    [InlineData("external-without-domain", "spec.external is true but AnalysisFacility cms-af has no spec.domain")]
    [InlineData("external-without-tls", "needs tls: true")]
    [InlineData("bad-interval", "spec.adaptive.interval 'soon'")]
    public void Invalid_specs_are_refused_with_a_message_naming_the_field(string problem, string expected)
    {
        var input = Input();
        var cluster = Cluster(spec =>
        {
            switch (problem)
            {
                case "maximum-below-minimum": spec.Adaptive = new DaskAdaptiveSpec { Minimum = 5, Maximum = 2 }; break;
                case "maximum-above-facility": spec.Adaptive = new DaskAdaptiveSpec { Maximum = 500 }; break;
                case "bad-memory": spec.Worker.Resources = new ComputeResources { Memory = "6 gigs" }; break;
                case "zero-cpu": spec.Scheduler.Resources = new ComputeResources { Cpu = "0" }; break;
                case "external-without-domain": spec.External = true; input = input with { FacilityDomain = null }; break;
                case "external-without-tls": spec.External = true; spec.Tls = false; break;
                case "bad-interval": spec.Adaptive = new DaskAdaptiveSpec { Maximum = 3, Interval = "soon" }; break;
            }
        });

        var result = DaskClusterBuilder.Build(cluster, input);

        result.IsValid.Should().BeFalse();
        result.Objects.Should().BeNull();
        result.Errors.Should().Contain(error => error.Contains(expected));
    }

    [Theory]
    [InlineData("10s", 10)]
    [InlineData("1m30s", 90)]
    [InlineData("2h", 7200)]
    public void Intervals_parse(string text, int seconds)
    {
        DaskClusterValidator.TryParseDuration(text, out var duration).Should().BeTrue();
        duration.Should().Be(TimeSpan.FromSeconds(seconds));
    }

    [Fact]
    public void Workers_mount_cvmfs_and_trust_the_xcache_ca_like_sessions_while_the_scheduler_does_not()
    {
        var plain = Build(Cluster(), Input());
        plain.WorkerDeployment.Spec.Template.Spec.Volumes.Should().NotContain(v => v.Name == Builders.Sessions.SessionCvmfs.Volume);

        var objects = Build(Cluster(), Input() with { Cvmfs = true, XCacheCaConfigMap = "xcache-xcache-ca" });
        var pod = objects.WorkerDeployment.Spec.Template.Spec;
        var worker = pod.Containers.Single(c => c.Name == "worker");
        var cvmfs = worker.VolumeMounts.Single(m => m.Name == Builders.Sessions.SessionCvmfs.Volume);
        cvmfs.MountPath.Should().Be("/cvmfs");
        cvmfs.MountPropagation.Should().Be("HostToContainer", "the CSI driver's automounts appear below the mount point later");
        cvmfs.ReadOnlyProperty.Should().BeTrue();
        pod.Volumes.Single(v => v.Name == Builders.Sessions.SessionCvmfs.Volume).PersistentVolumeClaim.ClaimName
            .Should().Be(Builders.Sessions.SessionCvmfs.ClaimName("cms-af"));

        Env(worker)["X509_CERT_DIR"].Should().Be(Builders.Sessions.SessionCaDirectory.CertificateDirectory);
        var init = pod.InitContainers.Single(c => c.Name == Builders.Sessions.SessionCaDirectory.InitContainerName);
        init.Image.Should().Be(worker.Image, "the worker image's own CA directory is the one extended");
        pod.Volumes.Single(v => v.Name == Builders.Sessions.SessionCaDirectory.SourceVolume).ConfigMap.Name.Should().Be("xcache-xcache-ca");

        var scheduler = objects.SchedulerDeployment.Spec.Template.Spec;
        scheduler.Volumes.Should().NotContain(v => v.Name == Builders.Sessions.SessionCvmfs.Volume || v.Name == Builders.Sessions.SessionCaDirectory.Volume);
    }
}
