using System.Text.RegularExpressions;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.Sessions;
using k8s.Models;
using YamlDotNet.Serialization;
using static AnalysisFacility.Operator.Tests.Sessions.SessionFixtures;

namespace AnalysisFacility.Operator.Tests.Sessions;

public class SessionBuilderTests
{
    private static V1Container Notebook(SessionObjects objects) => objects.Pod.Spec.Containers.Single(c => c.Name == SessionBuilder.NotebookContainer);

    private static string? EnvKeyRef(V1Container container, string name) =>
        container.Env.SingleOrDefault(e => e.Name == name)?.ValueFrom?.ConfigMapKeyRef?.Key;

    [Fact]
    public void Mapped_user_gets_own_store_directory_writable()
    {
        var objects = Build();

        var volume = objects.Pod.Spec.Volumes.Single(v => v.Name == SessionBuilder.StoreVolume);
        volume.PersistentVolumeClaim.ClaimName.Should().Be("cms-store");
        volume.PersistentVolumeClaim.ReadOnlyProperty.Should().NotBe(true);
        var mount = Notebook(objects).VolumeMounts.Single(m => m.Name == SessionBuilder.StoreVolume);
        mount.SubPath.Should().Be("salbin");
        mount.MountPath.Should().Be("/mnt/data");
        mount.ReadOnlyProperty.Should().NotBe(true);
        objects.Store.Should().Be(new SessionStorePlacement(true, "salbin", false));
    }

    [Fact]
    public void Notebook_starts_only_after_the_store_is_mounted_and_the_wait_runs_the_facility_image()
    {
        var objects = Build();

        var init = objects.Pod.Spec.InitContainers.Single(c => c.Name == SessionStoreWait.InitContainerName);
        // The wait sees the whole claim: it must run an image the facility chose, never the user's notebook image.
        init.Image.Should().Be(SampleFacility().Spec.Sessions.TokenHelperImage);
        var check = init.VolumeMounts.Single(m => m.Name == SessionBuilder.StoreVolume);
        check.SubPath.Should().BeNull("a subPath would be created on the bare mount point, which is what the wait prevents");
        check.ReadOnlyProperty.Should().BeTrue();
        check.MountPropagation.Should().Be("HostToContainer", "a BindFS mount made after the container started must become visible");
        init.Command.Last().Should().Contain("fuse").And.Contain("/proc/mounts");
        objects.Pod.Spec.InitContainers.Where(c => c.Name != SessionStoreWait.InitContainerName)
            .Should().NotContain(c => c.VolumeMounts != null && c.VolumeMounts.Any(m => m.Name == SessionBuilder.StoreVolume));

        var facility = SampleFacility();
        facility.Spec.UserStore.Enabled = false;
        (Build(facility: facility, context: Context(storeName: null)).Pod.Spec.InitContainers ?? [])
            .Should().NotContain(c => c.Name == SessionStoreWait.InitContainerName);
    }

    [Fact]
    public void Unmapped_user_gets_nobody_directory_read_only()
    {
        var objects = Build(Session("alice"), context: Context(storeName: null));

        var mount = Notebook(objects).VolumeMounts.Single(m => m.Name == SessionBuilder.StoreVolume);
        mount.SubPath.Should().Be("nobody");
        mount.ReadOnlyProperty.Should().BeTrue();
        objects.Pod.Spec.Volumes.Single(v => v.Name == SessionBuilder.StoreVolume).PersistentVolumeClaim.ReadOnlyProperty.Should().BeTrue();
    }

    [Fact]
    public void No_store_volume_when_the_facility_has_no_store()
    {
        var facility = SampleFacility();
        facility.Spec.UserStore.Enabled = false;

        var objects = Build(facility: facility, context: Context(storeName: null));

        objects.Pod.Spec.Volumes.Should().NotContain(v => v.Name == SessionBuilder.StoreVolume);
        objects.Store.Enabled.Should().BeFalse();
    }

    [Fact]
    public void Pod_runs_unprivileged_as_the_facility_uid()
    {
        var facility = SampleFacility();
        facility.Spec.Sessions.RunAsUser = 1234;
        facility.Spec.Sessions.FsGroup = 555;

        var objects = Build(facility: facility);

        var pod = objects.Pod.Spec.SecurityContext;
        pod.RunAsUser.Should().Be(1234);
        pod.FsGroup.Should().Be(555);
        pod.RunAsNonRoot.Should().BeTrue();
        pod.SeccompProfile.Type.Should().Be("RuntimeDefault");
        var container = Notebook(objects).SecurityContext;
        container.AllowPrivilegeEscalation.Should().BeFalse();
        container.Capabilities.Drop.Should().Equal("ALL");
        container.RunAsNonRoot.Should().BeTrue();
        container.Privileged.Should().NotBe(true);
        objects.Pod.Spec.AutomountServiceAccountToken.Should().BeFalse();
        objects.ServiceAccount.AutomountServiceAccountToken.Should().BeFalse();
        objects.Pod.Spec.ServiceAccountName.Should().Be(objects.ServiceAccount.Metadata.Name);
    }

    [Fact]
    public void Notebook_runs_the_single_user_server_with_a_readiness_probe()
    {
        var container = Notebook(Build());

        container.Command.Should().Equal("jupyterhub-singleuser");
        container.Args.Should().Contain("--port=8888");
        container.Ports.Single().ContainerPort.Should().Be(8888);
        container.ReadinessProbe.TcpSocket.Should().NotBeNull();
        container.EnvFrom.Single().SecretRef.Name.Should().Be(Session().Spec.HubEnvSecretName);
    }

    [Fact]
    public void Client_files_are_the_same_when_many_sessions_are_built_at_once()
    {
        // The YAML serializer is shared by every reconcile worker.
        var expected = Build().ClientConfig.Data;
        var results = new System.Collections.Concurrent.ConcurrentBag<IDictionary<string, string>>();
        Parallel.For(0, 200, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ => results.Add(Build().ClientConfig.Data));

        results.Should().HaveCount(200).And.OnlyContain(data => data.Count == expected.Count
            && data[SessionClientConfig.DaskKey] == expected[SessionClientConfig.DaskKey]
            && data[SessionClientConfig.ServiceXKey] == expected[SessionClientConfig.ServiceXKey]);
    }

    [Fact]
    public void Client_environment_points_at_the_facility_services()
    {
        var objects = Build();
        var data = objects.ClientConfig.Data;

        data["_condor_COLLECTOR_HOST"].Should().Be("htcondor-cm.cms.svc:9618");
        data["_condor_SCHEDD_HOST"].Should().Be("htcondor-schedd.cms.svc");
        data["_condor_SEC_DEFAULT_AUTHENTICATION_METHODS"].Should().Be("SCITOKENS");
        data["_condor_SCITOKENS_FILE"].Should().Be(new TokenDeliveryDouble().TokenFilePath);
        data["_condor_AUTH_SSL_CLIENT_CAFILE"].Should().Be(SessionClientConfig.SystemCaBundle);
        data["TRITON_BUCKET_HOST"].Should().Be("rook-ceph-rgw-my-store.rook-ceph.svc");
        data["TRITON_BUCKET_PORT"].Should().Be("80");
        data["TRITON_BUCKET_NAME"].Should().Be("triton-models");
        data["MLFLOW_TRACKING_URI"].Should().Be("http://mlflow.cms.svc:5000");
        data["XCACHE_ENDPOINT"].Should().Be("root://xcache.cms.svc:1094");

        // Every environment key of the ConfigMap reaches the notebook, and nothing that is not a variable name.
        var container = Notebook(objects);
        foreach (var key in data.Keys.Where(k => !k.EndsWith(".yaml", StringComparison.Ordinal)))
        {
            EnvKeyRef(container, key).Should().Be(key);
            container.Env.Single(e => e.Name == key).ValueFrom.ConfigMapKeyRef.Name.Should().Be(objects.ClientConfig.Metadata.Name);
        }
        container.Env.Should().NotContain(e => e.Name.Contains('.'));
    }

    [Fact]
    public void Ca_bundle_is_mounted_for_htcondor_when_given()
    {
        var objects = Build(context: Context() with { CaBundle = new ConfigMapKey("facility-ca", "ca.pem") });

        objects.ClientConfig.Data["_condor_AUTH_SSL_CLIENT_CAFILE"].Should().Be("/etc/analysisfacility/ca/ca.crt");
        objects.Pod.Spec.Volumes.Single(v => v.Name == SessionBuilder.CaVolume).ConfigMap.Name.Should().Be("facility-ca");
        Notebook(objects).VolumeMounts.Should().Contain(m => m.Name == SessionBuilder.CaVolume && m.MountPath == "/etc/analysisfacility/ca");
    }

    [Fact]
    public void Disabled_services_leave_no_configuration()
    {
        var facility = SampleFacility();
        facility.Spec.HTCondor.Enabled = false;
        facility.Spec.ServiceX.Enabled = false;
        facility.Spec.Triton.Enabled = false;
        facility.Spec.Mlflow.Enabled = false;

        var objects = Build(facility: facility);

        objects.ClientConfig.Data.Keys.Should().NotContain(k => k.StartsWith("_condor_") || k.StartsWith("TRITON_") || k == "MLFLOW_TRACKING_URI");
        objects.ClientConfig.Data.Should().NotContainKey(SessionClientConfig.ServiceXKey);
        Notebook(objects).VolumeMounts.Should().NotContain(m => m.MountPath == SessionClientConfig.ServiceXPath);
    }

    [Fact]
    public void Dask_and_servicex_files_carry_the_facility_settings()
    {
        var facility = SampleFacility();
        facility.Spec.Dask.WorkerImage = "ghcr.io/dask/dask:2024.8.2-py3.11";
        facility.Spec.Dask.WorkerMemory = "8Gi";

        var objects = Build(facility: facility, context: Context(scheduler: "tls://sam.dask.coffea.casa:8786"));

        var yaml = new DeserializerBuilder().Build();
        var dask = yaml.Deserialize<Dictionary<string, object>>(objects.ClientConfig.Data[SessionClientConfig.DaskKey]);
        dask["scheduler-address"].Should().Be("tls://sam.dask.coffea.casa:8786");
        var worker = (Dictionary<object, object>)((Dictionary<object, object>)dask["analysisfacility"])["worker"];
        worker["image"].Should().Be("ghcr.io/dask/dask:2024.8.2-py3.11");
        worker["memory"].Should().Be("8Gi");
        worker["cores"].Should().Be("2");

        var servicex = yaml.Deserialize<Dictionary<string, object>>(objects.ClientConfig.Data[SessionClientConfig.ServiceXKey]);
        var endpoint = (Dictionary<object, object>)((List<object>)servicex["api_endpoints"]).Single();
        endpoint["endpoint"].Should().Be("http://servicex.cms.svc:8000");
        servicex["default_endpoint"].Should().Be(endpoint["name"]);
        // No ServiceX token: the client presents BEARER_TOKEN_FILE's token (servicex_adapter.py), which the gateway checks.
        endpoint.Should().NotContainKey("token");

        Notebook(objects).VolumeMounts.Should().Contain(m => m.MountPath == SessionClientConfig.ServiceXPath && m.SubPath == "servicex/servicex.yaml");
        objects.ClientConfig.Data[SessionClientConfig.DaskConfigVariable].Should().Be(SessionClientConfig.DaskDirectory);
        objects.ClientConfig.Data.Should().NotContainKey("DASK_ROOT_CONFIG", "the image's own Dask configuration must stay visible");
        objects.Pod.Spec.Volumes.Single(v => v.Name == SessionBuilder.ClientConfigVolume).ConfigMap.Items
            .Should().Contain(i => i.Key == SessionClientConfig.DaskKey && i.Path == "dask/analysisfacility.yaml");
    }

    [Fact]
    public void Dask_file_has_no_scheduler_when_the_session_has_no_cluster()
    {
        var objects = Build(context: Context(scheduler: null));
        objects.ClientConfig.Data[SessionClientConfig.DaskKey].Should().NotContain("scheduler-address");
    }

    [Theory]
    [InlineData(null, "coffeateam/coffea-casa:std", "2", "4Gi", 0)]       // the profile marked default
    [InlineData("small", "coffeateam/coffea-casa:small", "1", "2Gi", 0)]
    [InlineData("gpu", "coffeateam/coffea-casa:gpu", "4", "16Gi", 1)]
    public void Profile_decides_image_and_resources(string? profile, string image, string cores, string memory, int gpus)
    {
        var objects = Build(Session(profile: profile));

        var container = Notebook(objects);
        container.Image.Should().Be(image);
        container.Resources.Limits["cpu"].ToString().Should().Be(cores);
        container.Resources.Limits["memory"].ToString().Should().Be(memory);
        container.Resources.Requests["memory"].ToString().Should().Be(memory);
        if (gpus > 0) container.Resources.Limits["nvidia.com/gpu"].ToString().Should().Be(gpus.ToString());
        else container.Resources.Limits.Should().NotContainKey("nvidia.com/gpu");
    }

    [Fact]
    public void Explicit_values_override_the_profile()
    {
        var session = Session(profile: "small");
        session.Spec.Image = "example.org/custom:1";
        session.Spec.Memory = "3Gi";
        session.Spec.Gpus = 2;

        var container = Notebook(Build(session));

        container.Image.Should().Be("example.org/custom:1");
        container.Resources.Limits["cpu"].ToString().Should().Be("1");
        container.Resources.Limits["memory"].ToString().Should().Be("3Gi");
        container.Resources.Limits["nvidia.com/gpu"].ToString().Should().Be("2");
    }

    [Fact]
    public void First_profile_then_facility_image_when_none_is_marked_default()
    {
        var facility = SampleFacility();
        facility.Spec.Hub.Profiles.ForEach(p => p.Default = false);
        Notebook(Build(facility: facility)).Image.Should().Be("coffeateam/coffea-casa:small");

        facility.Spec.Hub.Profiles.Clear();
        facility.Spec.Sessions.Image = "coffeateam/coffea-casa-analysis:2024";
        var container = Notebook(Build(facility: facility));
        container.Image.Should().Be("coffeateam/coffea-casa-analysis:2024");
        container.Resources.Limits["cpu"].ToString().Should().Be("2");
    }

    [Fact]
    public void Unknown_profile_is_refused_with_the_choices()
    {
        var result = new SessionBuilder(new TokenDeliveryDouble()).Build(Session(profile: "huge"), SampleFacility(), Context());

        result.Succeeded.Should().BeFalse();
        result.Errors.Should().ContainSingle().Which.Should().Contain("spec.profile").And.Contain("'huge'").And.Contain("small, standard, gpu");
    }

    [Theory]
    [InlineData("bad name")]
    [InlineData("-leading")]
    [InlineData("semi;colon")]
    public void Invalid_user_name_is_refused(string user)
    {
        var session = Session();
        session.Spec.User.Name = user;

        var result = new SessionBuilder(new TokenDeliveryDouble()).Build(session, SampleFacility(), Context());

        result.Succeeded.Should().BeFalse();
        result.Errors.Should().Contain(e => e.StartsWith("spec.user.name:") && e.Contains(user));
    }

    [Fact]
    public void Missing_facility_is_refused()
    {
        var result = new SessionBuilder(new TokenDeliveryDouble()).Build(Session(), null, Context());

        result.Succeeded.Should().BeFalse();
        result.Errors.Should().ContainSingle().Which.Should().Contain("spec.facilityRef").And.Contain("'cms-af' does not exist");
    }

    [Fact]
    public void Facility_in_another_namespace_is_refused()
    {
        var facility = SampleFacility();
        facility.Metadata.NamespaceProperty = "other";

        var result = new SessionBuilder(new TokenDeliveryDouble()).Build(Session(), facility, Context());

        result.Errors.Should().ContainSingle().Which.Should().Contain("spec.facilityRef");
    }

    [Fact]
    public void Invalid_store_name_and_quantities_are_refused()
    {
        var session = Session();
        session.Spec.Memory = "lots";
        var result = new SessionBuilder(new TokenDeliveryDouble()).Build(session, SampleFacility(), Context(storeName: "../etc"));

        result.Errors.Should().Contain(e => e.StartsWith("spec.memory:"));
        var storeResult = new SessionBuilder(new TokenDeliveryDouble()).Build(Session(), SampleFacility(), Context(storeName: "../etc"));
        storeResult.Errors.Should().ContainSingle().Which.Should().Contain("'../etc'");
    }

    [Fact]
    public void Token_delivery_decorates_the_pod_once()
    {
        var tokens = new TokenDeliveryDouble();

        var objects = Build(tokens: tokens);

        tokens.Calls.Should().ContainSingle();
        var call = tokens.Calls[0];
        call.TokenSecretName.Should().Be("token-salbin");
        call.PodSpec.Should().BeSameAs(objects.Pod.Spec);
        call.Notebook.Should().BeSameAs(Notebook(objects));
        call.RunAsUser.Should().Be(1000);
        call.HelperImage.Should().Be("busybox:1.36");
        objects.Pod.Spec.Volumes.Should().Contain(v => v.Name == "token-double");
    }

    [Fact]
    public void Every_object_is_complete_and_labelled()
    {
        var objects = Build();

        foreach (var item in objects.All())
        {
            item.ApiVersion.Should().NotBeNullOrEmpty();
            item.Kind.Should().NotBeNullOrEmpty();
            item.Metadata.Name.Should().MatchRegex(Patterns.DnsLabel); item.Metadata.Name.Length.Should().BeLessThanOrEqualTo(63);
            item.Metadata.NamespaceProperty.Should().Be(Namespace);
            item.Metadata.Labels[Labels.Facility].Should().Be("cms-af");
            item.Metadata.Labels[Labels.User].Should().MatchRegex("^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$");
            item.Metadata.OwnerReferences.Should().BeNull();
        }
        objects.Service.Spec.Selector.Should().BeEquivalentTo(objects.Pod.Metadata.Labels.Where(l => objects.Service.Spec.Selector.ContainsKey(l.Key)));
        objects.Service.Spec.Selector.Should().NotBeEmpty();
        objects.Service.Metadata.Name.Should().MatchRegex("^[a-z]"); // Service names must start with a letter
    }

    [Fact]
    public void Similar_user_names_map_to_distinct_valid_names()
    {
        var users = new[] { "sam.albin@unl.edu", "sam-albin-unl-edu", "Sam.Albin@unl.edu", "sam_albin@unl.edu", "alice", "Alice", "1user",
            new string('a', 64), new string('a', 63) + "b" };

        var names = users.Select(SessionNames.ForUser).ToList();

        names.Should().OnlyHaveUniqueItems();
        names.Should().AllSatisfy(n => n.Should().MatchRegex(Patterns.DnsLabel).And.Match(x => x.Length <= 52));
        SessionNames.ForUser("alice").Should().Be("alice");
        users.Select(u => SessionNames.Server(SessionNames.ForUser(u))).Should().OnlyHaveUniqueItems()
            .And.AllSatisfy(n => Regex.IsMatch(n, "^[a-z][-a-z0-9]{0,61}[a-z0-9]$").Should().BeTrue(n));
    }

    [Fact]
    public void Network_policy_admits_only_the_hub_and_reaches_only_facility_dns_and_outside()
    {
        var objects = Build();
        var policy = objects.NetworkPolicy!;

        policy.ApiVersion.Should().Be("networking.k8s.io/v1");
        policy.Spec.PodSelector.MatchLabels.Should().BeEquivalentTo(SessionBuilder.Selector(objects.Pod.Metadata.Labels[Labels.Instance]));
        policy.Spec.PolicyTypes.Should().BeEquivalentTo("Ingress", "Egress");

        var ingress = policy.Spec.Ingress.Should().ContainSingle().Subject;
        ingress.FromProperty.Single().PodSelector.MatchLabels.Should().BeEquivalentTo(new Dictionary<string, string>
        {
            [Labels.Facility] = "cms-af",
            [Labels.Component] = "hub",
        });
        ingress.FromProperty.Single().NamespaceSelector.Should().BeNull();
        ingress.Ports.Single().Port.Value.Should().Be("8888");

        var egress = policy.Spec.Egress;
        var facilityPeer = egress[0].To.Single().PodSelector;
        facilityPeer.MatchLabels.Should().BeEquivalentTo(new Dictionary<string, string> { [Labels.Facility] = "cms-af" });
        facilityPeer.MatchExpressions.Single().Should().BeEquivalentTo(new V1LabelSelectorRequirement
        {
            Key = Labels.Component, OperatorProperty = "NotIn", Values = [SessionBuilder.NotebookComponent],
        }, "other users' notebooks carry the facility label too");
        egress[1].To.Should().BeNull();
        egress[1].Ports.Select(p => (p.Protocol, p.Port.Value)).Should().BeEquivalentTo([("UDP", "53"), ("TCP", "53")]);
        var blocks = egress[2].To.Select(p => p.IpBlock).ToList();
        blocks.Single(b => b.Cidr == "0.0.0.0/0").Except.Should().Contain(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]);
        blocks.Single(b => b.Cidr == "::/0").Except.Should().Equal("fc00::/7");
        egress.Should().HaveCount(3, "the facility, DNS and the outside: nothing else");
    }

    [Fact]
    public void Network_policy_can_be_turned_off()
    {
        var facility = SampleFacility();
        facility.Spec.Sessions.NetworkPolicy = false;

        var objects = Build(facility: facility);

        objects.NetworkPolicy.Should().BeNull();
        objects.All().Should().NotContain(o => o.Kind == "NetworkPolicy");
    }

    [Fact]
    public void Same_inputs_give_the_same_objects()
    {
        var first = string.Join("\n", Build().All().Select(o => ApiJson.Serialize(o)));
        var second = string.Join("\n", Build().All().Select(o => ApiJson.Serialize(o)));
        first.Should().Be(second);
    }

    [Fact]
    public void Triton_upload_keys_come_from_the_user_secret_by_secretKeyRef_never_through_the_config_map()
    {
        var facility = SampleFacility();
        facility.Spec.Triton.UserCredentialsSecret = "triton-users";
        var objects = Build(facility: facility);

        var env = Notebook(objects).Env;
        foreach (var name in new[] { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY" })
        {
            var variable = env.Single(e => e.Name == name);
            variable.ValueFrom.SecretKeyRef.Name.Should().Be("triton-users");
            variable.ValueFrom.SecretKeyRef.Key.Should().Be(name);
            objects.ClientConfig.Data.Should().NotContainKey(name);
        }
        EnvKeyRef(Notebook(objects), "TRITON_BUCKET_NAME").Should().Be("TRITON_BUCKET_NAME");
    }

    [Fact]
    public void With_a_facility_xcache_the_session_trusts_its_CA_beside_the_image_CAs()
    {
        var objects = Build(context: Context() with { XCacheCaConfigMap = "cms-cache-xcache-ca" });

        EnvKeyRef(Notebook(objects), "X509_CERT_DIR").Should().Be("X509_CERT_DIR");
        objects.ClientConfig.Data["X509_CERT_DIR"].Should().Be(SessionCaDirectory.CertificateDirectory);
        var init = objects.Pod.Spec.InitContainers.Single(c => c.Name == SessionCaDirectory.InitContainerName);
        init.Image.Should().Be(Notebook(objects).Image, "the notebook image's own CA directory is extended");
        objects.Pod.Spec.Volumes.Single(v => v.Name == SessionCaDirectory.SourceVolume).ConfigMap.Should()
            .Match<V1ConfigMapVolumeSource>(c => c.Name == "cms-cache-xcache-ca" && c.Optional == true);
        Notebook(objects).VolumeMounts.Should().Contain(m => m.MountPath == SessionCaDirectory.MountPath && m.ReadOnlyProperty == true);
        Build().Pod.Spec.InitContainers?.Should().NotContain(c => c.Name == SessionCaDirectory.InitContainerName);
    }
}
