using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Certificates;
using AnalysisFacility.Operator.Builders.Dask;
using AnalysisFacility.Operator.Builders.Sessions;
using AnalysisFacility.Operator.Controllers.Sessions;
using AnalysisFacility.Operator.IntegrationTests.Dask;
using AnalysisFacility.Operator.IntegrationTests.Support;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.IntegrationTests.Sessions;

/// <summary>The client configuration a session gets, read by the real programs that use it.</summary>
public sealed class ClientConfigTests : IDisposable
{
    private const string Python = "/usr/bin/python3";
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("session-client-");

    public void Dispose() => _root.Delete(recursive: true);

    private static SessionObjects Build(string schedulerAddress)
    {
        var facility = new FacilityResource
        {
            Metadata = new V1ObjectMeta { Name = "cms-af", NamespaceProperty = "cms" },
            Spec = new AnalysisFacilitySpec { ServiceX = new ServiceXSpec { Enabled = true } },
        };
        var session = new UserSession
        {
            Metadata = new V1ObjectMeta { Name = "alice", NamespaceProperty = "cms" },
            Spec = new UserSessionSpec { FacilityRef = "cms-af", User = new SessionUser { Name = "alice" } },
        };
        var context = new SessionContext
        {
            TokenSecretName = "token-alice",
            DaskSchedulerAddress = schedulerAddress,
            Endpoints = new SessionServiceEndpoints { ServiceX = "http://servicex.cms.svc:8000" },
        };
        return new SessionBuilder(new NoTokenDeliveryDouble()).Build(session, facility, context).Objects!;
    }

    /// <summary>Lays the ConfigMap out on disk the way the kubelet does for the pod's volume items.</summary>
    private string Materialise(SessionObjects objects)
    {
        var volume = objects.Pod.Spec.Volumes.Single(v => v.Name == SessionBuilder.ClientConfigVolume);
        foreach (var item in volume.ConfigMap.Items)
        {
            var path = Path.Combine(_root.FullName, item.Path);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, objects.ClientConfig.Data[item.Key]);
        }
        // DASK_CONFIG as the pod sees it, moved from the mount path to the test directory.
        return objects.ClientConfig.Data[SessionClientConfig.DaskConfigVariable].Replace(SessionClientConfig.MountPath, _root.FullName);
    }

    [Fact]
    public async Task Bare_dask_client_connects_to_the_sessions_scheduler_and_the_images_dask_config_stays_in_effect()
    {
        var port = Ports.GetFree();
        await using var scheduler = TestProcess.Start(Programs.Require("dask-scheduler"),
            ["--host", "127.0.0.1", "--port", port.ToString(), "--dashboard-address", "127.0.0.1:0", "--no-show"],
            environment: new Dictionary<string, string> { ["HOME"] = _root.FullName });
        await scheduler.WaitUntilAsync(() => Task.FromResult(scheduler.Output.Contains("Scheduler at:")), TimeSpan.FromSeconds(60), "scheduler start");

        var daskDirectory = Materialise(Build($"tcp://127.0.0.1:{port}"));
        // The notebook image's own Dask configuration (e.g. coffea-casa sets its dashboard link this way).
        var imageDirectory = Directory.CreateDirectory(Path.Combine(_root.FullName, "image-dask")).FullName;
        await File.WriteAllTextAsync(Path.Combine(imageDirectory, "image.yaml"), "distributed:\n  dashboard:\n    link: /user/{JUPYTERHUB_USER}/proxy/{port}/status\n");
        var script = """
            import json, dask, distributed
            client = distributed.Client(timeout=30)
            print(json.dumps({"address": client.scheduler.address, "worker": dask.config.get("analysisfacility.worker"),
                              "link": dask.config.get("distributed.dashboard.link")}))
            client.close()
            """;
        var environment = new Dictionary<string, string>
        {
            ["DASK_ROOT_CONFIG"] = imageDirectory, // set by the image, left alone by the session
            ["HOME"] = _root.FullName, // no personal ~/.config/dask in the way
        };
        foreach (var (key, value) in Build($"tcp://127.0.0.1:{port}").ClientConfig.Data.Where(e => e.Key.StartsWith("DASK_", StringComparison.Ordinal)))
        {
            environment[key] = value.Replace(SessionClientConfig.MountPath, _root.FullName);
        }
        environment["DASK_ROOT_CONFIG"].Should().Be(imageDirectory, "the session must not replace the image's DASK_ROOT_CONFIG");
        environment[SessionClientConfig.DaskConfigVariable].Should().Be(daskDirectory);
        var run = await TestProcess.RunAsync(Python, ["-c", script], environment);

        run.ExitCode.Should().Be(0, run.Output);
        var result = JsonNode.Parse(run.StandardOutput)!;
        result["address"]!.GetValue<string>().Should().Be($"tcp://127.0.0.1:{port}");
        result["worker"]!["image"]!.GetValue<string>().Should().Be(new DaskDefaults().WorkerImage);
        result["worker"]!["memory"]!.GetValue<string>().Should().Be("6Gi");
        result["link"]!.GetValue<string>().Should().Be("/user/{JUPYTERHUB_USER}/proxy/{port}/status", "the image's configuration is still read");
        await scheduler.StopAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// A session with a Dask cluster (TLS, the default): the real scheduler runs with the operator-generated TLS Secret
    /// and a worker joins it; in the notebook's place, a bare dask.distributed.Client() runs with only the session's
    /// generated files, mounted where the pod mounts them (client ConfigMap and the Dask TLS Secret's volume items),
    /// and the pod's environment. It connects over TLS and computes on the worker.
    /// </summary>
    [Fact]
    public async Task Bare_dask_client_connects_over_tls_with_only_the_files_the_session_mounts()
    {
        var now = DateTimeOffset.UtcNow;
        var facility = new FacilityResource
        {
            Metadata = new V1ObjectMeta { Name = "cms-af", NamespaceProperty = "cms", Uid = Guid.NewGuid().ToString() },
            Spec = new AnalysisFacilitySpec { Tokens = new TokenIssuerSpec { Issuer = "https://issuer.test.example/af" } },
        };
        var session = new UserSession
        {
            Metadata = new V1ObjectMeta { Name = "alice", NamespaceProperty = "cms" },
            Spec = new UserSessionSpec { FacilityRef = "cms-af", User = new SessionUser { Name = "alice" }, Dask = new SessionDask { Enabled = true } },
        };
        var cluster = SessionDaskCluster.Build(session, facility, session.Spec.Dask);
        cluster.Spec.Tls.Should().BeTrue("a session's cluster speaks TLS by default");
        var tlsData = DaskTls.Ensure(null, FacilityCertificateAuthority.Ensure(null, "cms-af", now).Data, cluster.Metadata.Name, "cms", null, now).Data;
        var daskObjects = DaskClusterBuilder.Build(cluster, new DaskBuildInput("cms-af", "coffea.casa", new DaskDefaults(), 0, tlsData,
            Controllers.Dask.DaskPlanning.TokenDeliveryFor(cluster, facility))).Objects!;

        await using var dask = new DaskProcesses();
        dask.MountSecret(daskObjects.TlsSecret!);
        var (port, dashboardPort) = (Ports.GetFree(), Ports.GetFree());
        var scheduler = dask.StartDask(DaskClusterBuilder.SchedulerArguments(true, port, dashboardPort, "127.0.0.1"),
            dask.Environment(daskObjects.SchedulerDeployment.Spec.Template.Spec.Containers[0]), "dask-scheduler");
        await scheduler.WaitUntilAsync(() => Task.FromResult(scheduler.Output.Contains($"tls://127.0.0.1:{port}")), TimeSpan.FromSeconds(60), "the scheduler listens on TLS");
        dask.StartDask(DaskClusterBuilder.WorkerArguments($"tls://127.0.0.1:{port}", "alice-worker-1", 1, 1L << 30, Ports.GetFree(), "127.0.0.1"),
            dask.Environment(daskObjects.WorkerDeployment.Spec.Template.Spec.Containers[0]), "worker");

        // The session as the operator plans it, once the cluster reports its address.
        cluster.Status = new DaskClusterStatus { SchedulerAddress = $"tls://127.0.0.1:{port}" };
        var objects = SessionPlanning.Plan(session, facility, cluster).Build.Objects!;
        var pod = objects.Pod;
        var notebook = pod.Spec.Containers.Single(c => c.Name == SessionBuilder.NotebookContainer);
        var mounts = new Dictionary<string, string>();
        foreach (var mount in notebook.VolumeMounts.Where(m => m.SubPath is null))
        {
            var volume = pod.Spec.Volumes.Single(v => v.Name == mount.Name);
            var directory = Directory.CreateDirectory(Path.Combine(_root.FullName, "volumes", mount.Name)).FullName;
            // What the kubelet writes for a ConfigMap or Secret volume with items.
            var (items, data) = volume.ConfigMap is { } configMap && configMap.Name == objects.ClientConfig.Metadata.Name
                ? (configMap.Items, objects.ClientConfig.Data.ToDictionary(e => e.Key, e => System.Text.Encoding.UTF8.GetBytes(e.Value)))
                : volume.Secret is { } secret && secret.SecretName == daskObjects.TlsSecret!.Metadata.Name
                    ? (secret.Items, daskObjects.TlsSecret.Data)
                    : (null, null);
            if (items is null || data is null) continue; // token and HTCondor CA volumes: not needed by Dask
            foreach (var item in items)
            {
                var path = Path.Combine(directory, item.Path);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                await File.WriteAllBytesAsync(path, data[item.Key]);
            }
            mounts[mount.MountPath] = directory;
        }
        mounts.Keys.Should().Contain(SessionClientConfig.DaskTlsMountPath);
        File.Exists(Path.Combine(mounts[SessionClientConfig.DaskTlsMountPath], DaskTls.SchedulerPrivateKeyKey)).Should().BeFalse("the scheduler's key stays with the scheduler");
        var environment = notebook.Env.Where(e => e.ValueFrom?.ConfigMapKeyRef is not null)
            .ToDictionary(e => e.Name, e => objects.ClientConfig.Data[e.ValueFrom.ConfigMapKeyRef.Key]);
        environment["HOME"] = _root.FullName;
        environment["DASK_TEMPORARY_DIRECTORY"] = dask.Directory;

        const string script = """
            import json, distributed
            with distributed.Client(timeout=30) as client:
                print(json.dumps({"address": client.scheduler.address, "result": client.submit(lambda: 6 * 7).result(timeout=60)}))
            """;
        var run = await PodFilesystem.RunAsync(mounts, Python, ["-c", script], environment, TimeSpan.FromSeconds(120));

        run.ExitCode.Should().Be(0, run.Output);
        var result = JsonNode.Parse(run.StandardOutput.Trim().Split('\n').Last())!;
        result["address"]!.GetValue<string>().Should().Be($"tls://127.0.0.1:{port}");
        result["result"]!.GetValue<int>().Should().Be(42);
    }

    [Fact]
    public async Task Servicex_yaml_has_the_shape_the_servicex_client_reads()
    {
        Materialise(Build("tcp://127.0.0.1:1"));
        var file = Path.Combine(_root.FullName, "servicex", "servicex.yaml");
        // The same checks as servicex.configuration.Configuration (pydantic), written out: servicex is not packaged here.
        var script = """
            import sys, json, yaml
            config = yaml.safe_load(open(sys.argv[1]))
            endpoints = {e["name"]: e for e in config["api_endpoints"]}
            assert all(isinstance(e["endpoint"], str) and isinstance(e["name"], str) for e in config["api_endpoints"])
            print(json.dumps(endpoints[config["default_endpoint"]]))
            """;
        var run = await TestProcess.RunAsync(Python, ["-c", script, file]);

        run.ExitCode.Should().Be(0, run.Output);
        JsonNode.Parse(run.StandardOutput)!["endpoint"]!.GetValue<string>().Should().Be("http://servicex.cms.svc:8000");
    }
}
