using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Sessions;
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
        // DASK_ROOT_CONFIG as the pod sees it, moved from the mount path to the test directory.
        return objects.ClientConfig.Data["DASK_ROOT_CONFIG"].Replace(SessionClientConfig.MountPath, _root.FullName);
    }

    [Fact]
    public async Task Bare_dask_client_connects_to_the_sessions_scheduler()
    {
        var port = Ports.GetFree();
        await using var scheduler = TestProcess.Start(Programs.Require("dask-scheduler"),
            ["--host", "127.0.0.1", "--port", port.ToString(), "--dashboard-address", "127.0.0.1:0", "--no-show"],
            environment: new Dictionary<string, string> { ["HOME"] = _root.FullName });
        await scheduler.WaitUntilAsync(() => Task.FromResult(scheduler.Output.Contains("Scheduler at:")), TimeSpan.FromSeconds(60), "scheduler start");

        var daskDirectory = Materialise(Build($"tcp://127.0.0.1:{port}"));
        var script = """
            import json, dask, distributed
            client = distributed.Client(timeout=30)
            print(json.dumps({"address": client.scheduler.address, "worker": dask.config.get("analysisfacility.worker")}))
            client.close()
            """;
        var run = await TestProcess.RunAsync(Python, ["-c", script], new Dictionary<string, string>
        {
            ["DASK_ROOT_CONFIG"] = daskDirectory,
            ["HOME"] = _root.FullName, // no personal ~/.config/dask in the way
        });

        run.ExitCode.Should().Be(0, run.Output);
        var result = JsonNode.Parse(run.StandardOutput)!;
        result["address"]!.GetValue<string>().Should().Be($"tcp://127.0.0.1:{port}");
        result["worker"]!["image"]!.GetValue<string>().Should().Be(new DaskDefaults().WorkerImage);
        result["worker"]!["memory"]!.GetValue<string>().Should().Be("6Gi");
        await scheduler.StopAsync(TimeSpan.FromSeconds(10));
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
