using System.Text.RegularExpressions;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Certificates;
using AnalysisFacility.Operator.Builders.Dask;
using AnalysisFacility.Operator.Controllers.Dask;
using AnalysisFacility.Operator.IntegrationTests.Support;
using k8s.Models;

namespace AnalysisFacility.Operator.IntegrationTests.Dask;

/// <summary>The adaptive scaling logic against a real dask scheduler started with the builder's configuration.</summary>
public sealed class DaskSchedulerScalingTests
{
    private const int Tasks = 40;
    private const int Minimum = 1;
    private const int Maximum = 4;

    // Each task records that it ran (so a lost result that had to be recomputed would show as a second run) and takes a second.
    private const string WorkloadScript = """
        import os, sys, time
        from distributed import Client, wait
        address, runs, flag, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
        def work(i, runs=runs):
            import time
            with open(runs, "a") as f:
                f.write(f"{i}\n")
            time.sleep(1.0)
            return i * i
        client = Client(address, timeout=60)
        futures = [client.submit(work, i, pure=False) for i in range(n)]
        wait(futures)
        print("DONE", flush=True)
        while not os.path.exists(flag):
            time.sleep(0.1)
        print("SUM=%d" % sum(client.gather(futures)), flush=True)
        client.close()
        """;

    private static DaskCluster Cluster(bool tls) => new()
    {
        Metadata = new V1ObjectMeta { Name = "alice", NamespaceProperty = "users" },
        Spec = new DaskClusterSpec { FacilityRef = "cms-af", Tls = tls, Adaptive = new DaskAdaptiveSpec { Minimum = Minimum, Maximum = Maximum } },
    };

    private static DaskClusterObjects Build(bool tls, IDictionary<string, byte[]>? tlsData = null)
    {
        var result = DaskClusterBuilder.Build(Cluster(tls), new DaskBuildInput("cms-af", "coffea.casa", new DaskDefaults(), 0, tlsData));
        result.Errors.Should().BeEmpty();
        return result.Objects!;
    }

    private static async Task<TestProcess> StartSchedulerAsync(DaskProcesses dask, DaskClusterObjects objects, bool tls, int port, int dashboardPort)
    {
        var container = objects.SchedulerDeployment.Spec.Template.Spec.Containers.Single();
        var scheduler = dask.StartDask(DaskClusterBuilder.SchedulerArguments(tls, port, dashboardPort, "127.0.0.1"), dask.Environment(container), "dask-scheduler");
        using var http = new HttpClient();
        await scheduler.WaitUntilAsync(async () => (await http.GetStringAsync($"http://127.0.0.1:{dashboardPort}/health")) == "ok",
            TimeSpan.FromSeconds(60), "scheduler /health");
        return scheduler;
    }

    [Fact]
    public async Task Submitted_work_scales_workers_up_and_finished_work_retires_them_without_losing_a_task()
    {
        await using var dask = new DaskProcesses();
        var objects = Build(tls: false);
        var port = Ports.GetFree();
        var dashboardPort = Ports.GetFree();
        var scheduler = await StartSchedulerAsync(dask, objects, tls: false, port, dashboardPort);
        var api = new Uri($"http://127.0.0.1:{dashboardPort}/api/v1");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var client = new DaskSchedulerClient(http);
        var scaling = new DaskAdaptiveScaling(client);
        var workerContainer = objects.WorkerDeployment.Spec.Template.Spec.Containers.Single();
        var (memoryBytes, _) = DaskClusterBuilder.WorkerCapacity(new DaskWorkerSpec(), new DaskDefaults { WorkerMemory = "1Gi" });

        // Idle: the scheduler wants nothing, the minimum holds.
        (await client.GetAdaptiveTargetAsync(api, default)).Should().Be(0);
        var idle = await scaling.StepAsync("users/alice", api, Minimum, Maximum, currentWorkers: 0, default);
        idle.DesiredWorkers.Should().Be(Minimum);

        var runs = Path.Combine(dask.Directory, "runs.log");
        var flag = Path.Combine(dask.Directory, "gather");
        var workload = dask.StartPython(WorkloadScript, [$"tcp://127.0.0.1:{port}", runs, flag, Tasks.ToString()], "workload");

        // Play the Deployment: start as many real workers as the scaler asks for and stop exactly the retired ones
        // (what deleting their pods does). Near the end of the work idle workers may already be retired: that must not lose anything.
        var workers = new Dictionary<string, TestProcess>();
        var started = 0;
        var highestTarget = 0;
        var highestWorkers = 0;
        var retiredNames = new List<string>();
        var history = new List<string>();
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        async Task StepAsync()
        {
            var step = await scaling.StepAsync("users/alice", api, Minimum, Maximum, workers.Count, default);
            history.Add(step.Reason);
            highestTarget = Math.Max(highestTarget, step.SchedulerTarget);
            foreach (var retired in step.RetiredWorkers)
            {
                retired.Name.Should().NotBeNull();
                workers.Should().ContainKey(retired.Name!);
                await workers[retired.Name!].StopAsync(TimeSpan.FromSeconds(10));
                workers.Remove(retired.Name!);
                retiredNames.Add(retired.Name!);
            }
            while (workers.Count < step.DesiredWorkers)
            {
                var name = $"alice-worker-{++started}";
                var arguments = DaskClusterBuilder.WorkerArguments($"tcp://127.0.0.1:{port}", name, 1, memoryBytes, Ports.GetFree(), "127.0.0.1");
                workers[name] = dask.StartDask(arguments, dask.Environment(workerContainer), name);
            }
            workers.Should().HaveCount(step.DesiredWorkers);
            highestWorkers = Math.Max(highestWorkers, workers.Count);
        }

        while (!workload.Output.Contains("DONE"))
        {
            DateTime.UtcNow.Should().BeBefore(deadline, $"the workload should finish. Workload:\n{workload.Output}\nSteps:\n{string.Join("\n", history)}");
            workload.HasExited.Should().BeFalse(workload.Output);
            await StepAsync();
            await Task.Delay(1000);
        }
        highestTarget.Should().BeGreaterThan(Maximum, "40 one-second tasks are more than 4 single-thread workers finish in the target duration");
        highestWorkers.Should().Be(Maximum, "the scaler scales up, capped at the maximum");

        // Work done, results still held by the workers: the target stays low and the surplus is retired through the scheduler.
        for (var i = 0; i < 6 && workers.Count > Minimum; i++)
        {
            await StepAsync();
            await Task.Delay(1000);
        }
        workers.Should().HaveCount(Minimum, $"the surplus is retired after the work. Steps:\n{string.Join("\n", history)}");
        retiredNames.Should().HaveCount(Maximum - Minimum);
        await scheduler.WaitUntilAsync(async () => (await client.GetWorkersAsync(api, default)).Select(w => w.Name).SequenceEqual(workers.Keys),
            TimeSpan.FromSeconds(30), "only the surviving worker connected");

        File.WriteAllText(flag, "");
        await workload.WaitUntilAsync(() => Task.FromResult(workload.Output.Contains("SUM=")), TimeSpan.FromSeconds(60), "results gathered");
        var expectedSum = Enumerable.Range(0, Tasks).Sum(i => i * i);
        Regex.Match(workload.Output, "SUM=(\\d+)").Groups[1].Value.Should().Be(expectedSum.ToString());
        var ran = File.ReadAllLines(runs).Select(int.Parse).ToList();
        ran.Should().BeEquivalentTo(Enumerable.Range(0, Tasks), "every task ran exactly once: no result was lost with a retired worker");

        // Steady at the minimum now.
        var settled = await scaling.StepAsync("users/alice", api, Minimum, Maximum, 1, default);
        settled.DesiredWorkers.Should().Be(Minimum);
        settled.RetiredWorkers.Should().BeEmpty();
    }

    [Fact]
    public async Task Tls_scheduler_accepts_clients_with_facility_certificates_and_refuses_others()
    {
        var now = DateTimeOffset.UtcNow;
        var tlsData = DaskTls.Ensure(null, FacilityCertificateAuthority.Ensure(null, "cms-af", now).Data, "alice", "users", "alice.dask.coffea.casa", now).Data;
        var strangerData = DaskTls.Ensure(null, FacilityCertificateAuthority.Ensure(null, "elsewhere", now).Data, "alice", "users", null, now).Data;

        await using var dask = new DaskProcesses();
        var objects = Build(tls: true, tlsData);
        dask.MountSecret(objects.TlsSecret!);
        var port = Ports.GetFree();
        var dashboardPort = Ports.GetFree();
        var scheduler = await StartSchedulerAsync(dask, objects, tls: true, port, dashboardPort);
        // The log line is read by a pipe reader and may trail the dashboard's first answer.
        await scheduler.WaitUntilAsync(() => Task.FromResult(scheduler.Output.Contains($"tls://127.0.0.1:{port}")), TimeSpan.FromSeconds(30), "the scheduler listens on TLS");

        var workerContainer = objects.WorkerDeployment.Spec.Template.Spec.Containers.Single();
        var workerArguments = DaskClusterBuilder.WorkerArguments($"tls://127.0.0.1:{port}", "alice-worker-1", 1, 1L << 30, Ports.GetFree(), "127.0.0.1");
        dask.StartDask(workerArguments, dask.Environment(workerContainer), "worker");
        using var http = new HttpClient();
        var client = new DaskSchedulerClient(http);
        var api = new Uri($"http://127.0.0.1:{dashboardPort}/api/v1");
        await scheduler.WaitUntilAsync(async () => (await client.GetWorkersAsync(api, default)).Count == 1, TimeSpan.FromSeconds(60), "the TLS worker to join");

        const string clientScript = """
            import sys
            from distributed import Client
            from distributed.security import Security
            address, ca, cert, key = sys.argv[1:5]
            try:
                security = Security(tls_ca_file=ca, tls_client_cert=cert, tls_client_key=key, require_encryption=True)
                with Client(address, security=security, timeout=10) as client:
                    print("RESULT=%d" % client.submit(lambda: 6 * 7).result(), flush=True)
            except Exception as error:
                print("REFUSED", type(error).__name__, flush=True)
            """;
        var strangerDirectory = Path.Combine(dask.Directory, "stranger");
        Directory.CreateDirectory(strangerDirectory);
        foreach (var (key, value) in strangerData) File.WriteAllBytes(Path.Combine(strangerDirectory, key), value);

        var facilityClient = await TestProcess.RunAsync(DaskProcesses.Python,
            ["-c", clientScript, $"tls://localhost:{port}", Path.Combine(dask.TlsDirectory, "ca.crt"), Path.Combine(dask.TlsDirectory, "client.crt"), Path.Combine(dask.TlsDirectory, "client.key")],
            timeout: TimeSpan.FromSeconds(90), workingDirectory: dask.Directory);
        facilityClient.Output.Should().Contain("RESULT=42");

        // A certificate from another CA (trusting our CA so only the scheduler's check can refuse it).
        var strangerClient = await TestProcess.RunAsync(DaskProcesses.Python,
            ["-c", clientScript, $"tls://localhost:{port}", Path.Combine(dask.TlsDirectory, "ca.crt"), Path.Combine(strangerDirectory, "client.crt"), Path.Combine(strangerDirectory, "client.key")],
            timeout: TimeSpan.FromSeconds(90), workingDirectory: dask.Directory);
        strangerClient.Output.Should().Contain("REFUSED").And.NotContain("RESULT=");
    }
}
