using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.XCache;

namespace AnalysisFacility.Operator.Tests.XCache;

public class XCacheBuilderTests
{
    internal static XCacheInstance Instance(Action<XCacheInstanceSpec>? change = null)
    {
        var instance = new XCacheInstance
        {
            Metadata = new k8s.Models.V1ObjectMeta { Name = "cms-cache", NamespaceProperty = "af" },
            Spec = new XCacheInstanceSpec
            {
                Origin = "root://xrootd-cms.infn.it:1094",
                ExportedPaths = ["/store"],
                Replicas = 2,
                CacheSize = "500Gi",
                StorageClassName = "fast-nvme",
                Ram = "8g",
                BlockSize = "512k",
                Prefetch = 4,
                Watermarks = new XCacheWatermarks { Low = "0.80", High = "0.92" },
                Resources = new ComputeResources { Cpu = "4", Memory = "16Gi" },
            },
        };
        change?.Invoke(instance.Spec);
        return instance;
    }

    private static XCacheResources Build(XCacheInstance instance, XCacheIssuerSettings? issuer = null)
    {
        var result = XCacheBuilder.Build(instance, issuer);
        result.Errors.Should().BeEmpty();
        return result.Resources!;
    }

    [Fact]
    public void Every_object_has_kind_name_namespace_and_labels()
    {
        var resources = Build(Instance());
        foreach (var item in resources.All)
        {
            item.ApiVersion.Should().NotBeNullOrEmpty();
            item.Kind.Should().NotBeNullOrEmpty();
            item.Metadata.Name.Should().NotBeNullOrEmpty();
            item.Metadata.NamespaceProperty.Should().Be("af");
            item.Metadata.Labels.Should().Contain(Labels.Instance, "cms-cache").And.Contain(Labels.ManagedBy, Labels.ManagedByValue);
            item.Metadata.OwnerReferences.Should().BeNull("controllers add owner references");
        }
        resources.Endpoint.Should().Be("root://cms-cache-xcache.af.svc:1094");
    }

    [Fact]
    public void Statefulset_has_one_cache_claim_per_replica_with_size_and_storage_class()
    {
        var set = Build(Instance()).StatefulSet;
        set.Spec.Replicas.Should().Be(2);
        set.Spec.ServiceName.Should().Be(XCacheBuilder.HeadlessServiceName(Instance()));
        var claim = set.Spec.VolumeClaimTemplates.Should().ContainSingle().Subject;
        claim.Spec.Resources.Requests["storage"].ToString().Should().Be("500Gi");
        claim.Spec.StorageClassName.Should().Be("fast-nvme");
        claim.Spec.AccessModes.Should().Equal("ReadWriteOnce");
        var container = set.Spec.Template.Spec.Containers.Should().ContainSingle().Subject;
        container.VolumeMounts.Should().Contain(m => m.Name == claim.Metadata.Name && m.MountPath == XCacheLayout.CacheMountPath);
        set.Spec.Selector.MatchLabels.Should().BeSubsetOf(set.Spec.Template.Metadata.Labels);
    }

    [Fact]
    public void Pod_runs_as_non_root_with_tcp_probes_and_resources()
    {
        var pod = Build(Instance()).StatefulSet.Spec.Template.Spec;
        pod.SecurityContext.RunAsNonRoot.Should().BeTrue();
        pod.SecurityContext.RunAsUser.Should().Be(XCacheBuilder.XrootdUserId);
        pod.SecurityContext.FsGroup.Should().Be(XCacheBuilder.XrootdUserId, "the cache PVC must be writable by xrootd");
        var container = pod.Containers[0];
        container.SecurityContext.AllowPrivilegeEscalation.Should().BeFalse();
        container.Image.Should().Be("opensciencegrid/xcache:23-release");
        container.ReadinessProbe.TcpSocket.Port.Value.Should().Be("xroot");
        container.LivenessProbe.TcpSocket.Port.Value.Should().Be("xroot");
        container.Ports.Should().ContainSingle(p => p.Name == "xroot" && p.ContainerPort == 1094);
        container.Resources.Limits["memory"].ToString().Should().Be("16Gi");
        container.Resources.Requests["cpu"].ToString().Should().Be("4");
        container.Command.Should().Contain(c => c.Contains("xrootd -c /etc/xrootd/xcache/xrootd.cfg"));
    }

    [Fact]
    public void Services_expose_xroot_and_http_only_when_set()
    {
        var plain = Build(Instance());
        plain.ClientService.Spec.Ports.Should().ContainSingle().Which.Port.Should().Be(1094);
        plain.HeadlessService.Spec.ClusterIP.Should().Be("None");

        var withHttp = Build(Instance(s => s.HttpPort = 8443));
        withHttp.ClientService.Spec.Ports.Select(p => (p.Name, p.Port)).Should().BeEquivalentTo(new[] { ("xroot", 1094), ("http", 8443) });
        withHttp.HeadlessService.Spec.Ports.Should().HaveCount(2);
        withHttp.StatefulSet.Spec.Template.Spec.Containers[0].Ports.Should().Contain(p => p.Name == "http" && p.ContainerPort == 8443);
        withHttp.ConfigMap.Data[XCacheLayout.XrootdConfigFile].Should().Contain("xrd.protocol XrdHttp:8443 libXrdHttp.so");
        plain.ConfigMap.Data[XCacheLayout.XrootdConfigFile].Should().NotContain("XrdHttp");
    }

    [Fact]
    public void Config_carries_every_cache_knob_from_the_spec()
    {
        var config = Build(Instance(s => s.ExportedPaths = ["/store", "/user/data"])).ConfigMap.Data[XCacheLayout.XrootdConfigFile];
        var lines = config.Split('\n').Select(l => l.Trim()).ToList();
        lines.Should().Contain([
            "all.export /store", "all.export /user/data", "xrd.port 1094",
            "ofs.osslib libXrdPss.so", "pss.cachelib libXrdPfc.so", "pss.origin xrootd-cms.infn.it:1094",
            "oss.localroot /xcache/namespace", "oss.space meta /xcache/meta", "oss.space data /xcache/data", "pfc.spaces data meta",
            "pfc.ram 8g", "pfc.diskusage 0.80 0.92", "pfc.blocksize 512k", "pfc.prefetch 4",
        ]);
        config.Should().NotContain("ofs.authlib").And.NotContain("sec.protocol");
    }

    [Theory]
    [InlineData("root://origin.example.org", "pss.origin origin.example.org:1094")]
    [InlineData("root://origin.example.org:11094/", "pss.origin origin.example.org:11094")]
    [InlineData("roots://origin.example.org:1095", "pss.origin roots://origin.example.org:1095")]
    public void Origin_is_written_as_pss_origin(string origin, string expected)
    {
        Build(Instance(s => s.Origin = origin)).ConfigMap.Data[XCacheLayout.XrootdConfigFile].Should().Contain(expected + "\n");
    }

    [Fact]
    public void Token_authorization_with_explicit_issuer_generates_scitokens_config_and_tls()
    {
        var instance = Instance(s => s.Authorization = new XCacheAuthorization
        {
            Issuer = "https://af.example.org/issuer",
            BasePath = "/store",
            Audiences = ["https://xcache.af.example.org", "af-xcache"],
        });
        var resources = Build(instance);
        var scitokens = resources.ConfigMap.Data[XCacheLayout.ScitokensConfigFile];
        scitokens.Should().Contain("[Global]\naudience_json = [\"https://xcache.af.example.org\",\"af-xcache\"]\nonmissing = deny\n");
        scitokens.Should().Contain("[Issuer facility]\nissuer = https://af.example.org/issuer\nbase_path = /store\n");

        var config = resources.ConfigMap.Data[XCacheLayout.XrootdConfigFile];
        config.Should().Contain("ofs.authorize 1\nofs.authlib libXrdAccSciTokens.so config=/etc/xrootd/xcache/scitokens.cfg\n");
        config.Should().Contain("sec.protocol ztn\n").And.Contain("xrd.tls /etc/xrootd/tls/tls.crt /run/xrootd/tls.key\n");
        resources.TlsSecretName.Should().Be(XCacheBuilder.TlsSecretName(instance));
        resources.StatefulSet.Spec.Template.Spec.Volumes.Should().Contain(v => v.Secret != null && v.Secret.SecretName == resources.TlsSecretName);
        // xrootd refuses a group-readable key, and fsGroup makes every Secret file group-readable: the pod copies it 0400.
        resources.StatefulSet.Spec.Template.Spec.Containers[0].Command.Last().Should()
            .Contain($"rm -f {XCacheLayout.PrivateKeyCopyPath} && (umask 077 && cat {XCacheLayout.PrivateKeySecretPath} > {XCacheLayout.PrivateKeyCopyPath})");
    }

    [Fact]
    public void Facility_reference_uses_the_resolved_issuer_and_audiences_and_labels_the_facility()
    {
        var instance = Instance(s => s.Authorization = new XCacheAuthorization { FacilityRef = "cms-af" });
        var resources = Build(instance, new XCacheIssuerSettings("https://cms-af.example.org", ["cms-af-xcache", "cms-af-schedd"]));
        var scitokens = resources.ConfigMap.Data[XCacheLayout.ScitokensConfigFile];
        scitokens.Should().Contain("issuer = https://cms-af.example.org\n").And.Contain("[\"cms-af-xcache\",\"cms-af-schedd\"]").And.Contain("base_path = /\n");
        resources.StatefulSet.Metadata.Labels.Should().Contain(Labels.Facility, "cms-af");
    }

    [Fact]
    public void Issuer_ca_is_added_to_the_image_bundle_only_when_given()
    {
        var instance = Instance(s => s.Authorization = new XCacheAuthorization { FacilityRef = "cms-af" });
        var without = Build(instance, new XCacheIssuerSettings("https://cms-af.example.org", ["a"]));
        without.StatefulSet.Spec.Template.Spec.Containers[0].VolumeMounts.Should().NotContain(m => XCacheIssuerTrust.BundlePaths.Contains(m.MountPath));

        var with = Build(instance, new XCacheIssuerSettings("https://cms-af.example.org", ["a"], "cms-af-issuer-ca"));
        var pod = with.StatefulSet.Spec.Template.Spec;
        // Both bundle paths libcurl may be built with get the merged file, never the issuer CA alone.
        pod.Containers[0].VolumeMounts.Where(m => XCacheIssuerTrust.BundlePaths.Contains(m.MountPath))
            .Should().HaveCount(2).And.OnlyContain(m => m.Name == XCacheIssuerTrust.BundleVolume && m.SubPath == XCacheIssuerTrust.BundleFile);
        var init = pod.InitContainers.Single(c => c.Name == XCacheIssuerTrust.InitContainerName);
        init.Image.Should().Be(pod.Containers[0].Image, "the image's own bundle is the one to extend");
        pod.Volumes.Should().Contain(v => v.Name == XCacheIssuerTrust.SourceVolume && v.ConfigMap.Name == "cms-af-issuer-ca" && v.ConfigMap.Optional != true,
            "the cache must not start before the facility has published its issuer trust");
    }

    [Fact]
    public void The_bundle_script_keeps_the_image_bundle_and_appends_the_issuer_ca()
    {
        var root = Directory.CreateTempSubdirectory("af-bundle-");
        try
        {
            var image = Path.Combine(root.FullName, "image-bundle.crt");
            File.WriteAllText(image, "IMAGE-CA\n");
            var extra = Directory.CreateDirectory(Path.Combine(root.FullName, "extra")).FullName;
            File.WriteAllText(Path.Combine(extra, "ca.crt"), "ISSUER-CA\n");
            var output = Path.Combine(root.FullName, "out.crt");
            var info = new System.Diagnostics.ProcessStartInfo("/bin/sh", ["-c", XCacheIssuerTrust.Script]);
            info.Environment["BUNDLES"] = $"{Path.Combine(root.FullName, "missing.crt")} {image}";
            info.Environment["EXTRA"] = extra;
            info.Environment["OUT"] = output;
            using var process = System.Diagnostics.Process.Start(info)!;
            process.WaitForExit();

            process.ExitCode.Should().Be(0);
            File.ReadAllText(output).Should().Be("IMAGE-CA\n\nISSUER-CA\n");

            // A publicly trusted issuer publishes no certificate: the image's bundle alone, and no failure.
            File.Delete(Path.Combine(extra, "ca.crt"));
            using var alone = System.Diagnostics.Process.Start(info)!;
            alone.WaitForExit();
            alone.ExitCode.Should().Be(0);
            File.ReadAllText(output).Should().Be("IMAGE-CA\n");
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public void Changing_the_config_changes_the_pod_template_so_pods_restart()
    {
        var before = Build(Instance()).StatefulSet.Spec.Template.Metadata.Annotations[XCacheBuilder.ConfigHashAnnotation];
        var same = Build(Instance()).StatefulSet.Spec.Template.Metadata.Annotations[XCacheBuilder.ConfigHashAnnotation];
        var after = Build(Instance(s => s.Prefetch = 0)).StatefulSet.Spec.Template.Metadata.Annotations[XCacheBuilder.ConfigHashAnnotation];
        same.Should().Be(before);
        after.Should().NotBe(before);
    }

    [Fact]
    public void A_valid_spec_with_defaults_has_no_errors()
    {
        var instance = new XCacheInstance
        {
            Metadata = new k8s.Models.V1ObjectMeta { Name = "c", NamespaceProperty = "n" },
            Spec = new XCacheInstanceSpec { Origin = "root://origin" },
        };
        XCacheValidator.Validate(instance).Should().BeEmpty();
    }
}
