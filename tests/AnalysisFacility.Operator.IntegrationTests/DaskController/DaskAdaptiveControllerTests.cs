using System.Collections.Concurrent;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Dask;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.Operator.Controllers.Dask;
using AnalysisFacility.Operator.IntegrationTests.Dask;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Runtime.Hosting;
using AnalysisFacility.Operator.Tokens.Discovery;
using k8s;
using k8s.Models;
using Serilog;
using static AnalysisFacility.Operator.IntegrationTests.DaskController.ControllerTestKit;

namespace AnalysisFacility.Operator.IntegrationTests.DaskController;

/// <summary>
/// The DaskCluster controller scaling a cluster against a REAL dask scheduler on 127.0.0.1. The test plays the kubelet:
/// every worker pod the Deployment creates becomes a real `dask worker` named after the pod, and stops when its pod goes.
/// The controller runs alone in a manager so its scheduler URL can point at the local scheduler.
/// </summary>
[Collection(ControlPlaneCollection.Name)]
public sealed class DaskAdaptiveControllerTests(ControlPlaneFixture fixture)
{
    private const string WorkloadScript = """
        import sys, time
        from distributed import Client, wait
        def work(i):
            import time
            time.sleep(1.0)
            return i * i
        client = Client(sys.argv[1], timeout=60)
        futures = [client.submit(work, i, pure=False) for i in range(int(sys.argv[2]))]
        wait(futures)
        print("SUM=%d" % sum(client.gather(futures)), flush=True)
        client.close()
        """;

    [Fact]
    public async Task Submitted_work_raises_workers_and_finished_work_retires_them_through_the_scheduler()
    {
        var api = fixture.Api;
        var ns = await fixture.CreateNamespaceAsync("dask-adapt");
        await CreateFacilityAsync(api, ns);
        // Ports are taken just before the scheduler binds them; until then the controller's URL points nowhere (port 0).
        var port = 0;
        var dashboardPort = 0;

        using var operatorApi = new KubernetesApi(fixture.Plane.AdminConfiguration(), ApiJson.Options);
        var writeLog = new ConcurrentQueue<string>();
        operatorApi.Calls.CallMade += (verb, path) =>
        {
            if (verb is not ("GET" or "HEAD")) writeLog.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {verb} {path}");
        };
        var log = new LoggerConfiguration().MinimumLevel.Warning().WriteTo.Console().CreateLogger();
        // This namespace only: DaskClusters other tests leave behind must not be scaled against this test's scheduler.
        var manager = new OperatorManager(operatorApi, new ManagerOptions { Namespaces = [ns] }, log);
        DaskClusterController.Register(manager, new OperatorSettings { Workers = 2 }, log, new DaskControllerOptions
        {
            SchedulerApi = _ => new Uri($"http://127.0.0.1:{dashboardPort}/api/v1"),
            SchedulerTimeout = TimeSpan.FromSeconds(5),
            RetryDelay = TimeSpan.FromSeconds(2),
        });
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => manager.RunAsync(stop.Token));
        await using var dask = new DaskProcesses();
        var workers = new ConcurrentDictionary<string, TestProcess>();
        var kubelet = Task.CompletedTask;
        var kubeletErrors = new ConcurrentQueue<string>();
        try
        {
            await CreateAsync(api, new DaskCluster
            {
                Metadata = new V1ObjectMeta { Name = "carol", NamespaceProperty = ns },
                Spec = new DaskClusterSpec { FacilityRef = FacilityName, Tls = false, Adaptive = new DaskAdaptiveSpec { Minimum = 1, Maximum = 3, Interval = "1s" } },
            });

            // No scheduler listening yet: the controller keeps the minimum and says why.
            DaskCluster? cluster = null;
            await Eventually.TrueAsync(async () =>
                Condition((cluster = await GetAsync<DaskCluster>(api, ns, "carol"))!.Status.Conditions, DaskConditions.AutoscalerReady)?.Reason == DaskConditions.SchedulerUnreachable,
                TimeSpan.FromSeconds(60), "SchedulerUnreachable");
            (await GetAsync<V1Deployment>(api, ns, DaskNames.Workers("carol")))!.Spec.Replicas.Should().Be(1);

            // The real scheduler with the environment of the generated container (HTTP API routes).
            var scheduler = (await GetAsync<V1Deployment>(api, ns, DaskNames.Scheduler("carol")))!.Spec.Template.Spec.Containers.Single();
            var workerContainer = (await GetAsync<V1Deployment>(api, ns, DaskNames.Workers("carol")))!.Spec.Template.Spec.Containers.Single(c => c.Name == "worker");
            port = Ports.GetFree();
            dashboardPort = Ports.GetFree();
            var schedulerProcess = dask.StartDask(DaskClusterBuilder.SchedulerArguments(false, port, dashboardPort, "127.0.0.1"), dask.Environment(scheduler), "dask-scheduler");
            using var http = new HttpClient();
            await schedulerProcess.WaitUntilAsync(async () => (await http.GetStringAsync($"http://127.0.0.1:{dashboardPort}/health")) == "ok",
                TimeSpan.FromSeconds(60), "scheduler /health");

            // Kubelet stand-in: a real worker per worker pod, stopped when its pod is deleted.
            var highestReplicas = 0;
            kubelet = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        var page = await api.ListAsync(api.Types.For<V1Pod>(), ns, "app.kubernetes.io/instance=carol,app.kubernetes.io/component=worker", 100, null, stop.Token);
                        var pods = page.Items.Select(p => KubernetesJson.Deserialize<V1Pod>(p.ToJsonString())).Where(p => p.Metadata.DeletionTimestamp is null).ToList();
                        foreach (var pod in pods.Where(p => !workers.ContainsKey(p.Metadata.Name)))
                        {
                            var arguments = DaskClusterBuilder.WorkerArguments($"tcp://127.0.0.1:{port}", pod.Metadata.Name, 1, 1L << 30, Ports.GetFree(), "127.0.0.1");
                            workers[pod.Metadata.Name] = dask.StartDask(arguments, dask.Environment(workerContainer), pod.Metadata.Name);
                            try
                            {
                                await Kubelet.MarkPodReadyAsync(api, ns, pod.Metadata.Name, cancellationToken: stop.Token);
                            }
                            catch (Exception e) when (e is KubernetesApiException { IsNotFound: true } or InvalidOperationException)
                            {
                                // The ReplicaSet removed the pod meanwhile (replicas went down): the next round stops its worker.
                            }
                        }
                        foreach (var gone in workers.Keys.Except(pods.Select(p => p.Metadata.Name)).ToList())
                        {
                            if (workers.TryRemove(gone, out var process)) await process.StopAsync(TimeSpan.FromSeconds(5));
                        }
                        var replicas = (await GetAsync<V1Deployment>(api, ns, DaskNames.Workers("carol")))?.Spec.Replicas ?? 0;
                        highestReplicas = Math.Max(highestReplicas, replicas);
                        await Task.Delay(300, stop.Token);
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested)
                    {
                        return;
                    }
                    catch (Exception e) when (!stop.IsCancellationRequested)
                    {
                        // A kubelet keeps going through a failed API call (a timeout, a conflict): try again next round.
                        kubeletErrors.Enqueue(e.Message);
                        await Task.Delay(300, CancellationToken.None);
                    }
                }
            });

            await Eventually.TrueAsync(async () => Conditions.IsTrue((await GetAsync<DaskCluster>(api, ns, "carol"))!.Status.Conditions, DaskConditions.AutoscalerReady),
                TimeSpan.FromSeconds(60), "autoscaler reaches the scheduler");

            var workload = dask.StartPython(WorkloadScript, [$"tcp://127.0.0.1:{port}", "30"], "workload");
            await Eventually.TrueAsync(() => Task.FromResult(workload.Output.Contains("SUM=") || workload.HasExited), TimeSpan.FromMinutes(3), "the workload to finish");
            workload.Output.Should().Contain($"SUM={Enumerable.Range(0, 30).Sum(i => i * i)}", $"kubelet stand-in errors: {string.Join("; ", kubeletErrors)}");
            highestReplicas.Should().Be(3, "30 one-second tasks make the scheduler ask for more than the maximum of 3");

            // Work done: the target drops, the surplus is retired through the scheduler and exactly those pods go.
            await Eventually.TrueAsync(async () =>
            {
                cluster = await GetAsync<DaskCluster>(api, ns, "carol");
                var deployment = await GetAsync<V1Deployment>(api, ns, DaskNames.Workers("carol"));
                return cluster!.Status.DesiredWorkers == 1 && deployment!.Spec.Replicas == 1 && workers.Count == 1;
            }, TimeSpan.FromSeconds(90), "scaled down to the minimum");
            var client = new DaskSchedulerClient(http);
            await Eventually.TrueAsync(async () =>
                (await client.GetWorkersAsync(new Uri($"http://127.0.0.1:{dashboardPort}/api/v1"), default)).Select(w => w.Name).SequenceEqual(workers.Keys),
                TimeSpan.FromSeconds(30), "the surviving pod's worker is the one the scheduler still has");

            await SteadyState.AssertNoWritesAsync(() => operatorApi.Calls.Writes, TimeSpan.FromSeconds(5), "idle adaptive cluster at its minimum", () => string.Join("\n", writeLog.TakeLast(25)));
        }
        finally
        {
            stop.Cancel();
            // Cleanup must neither hide the test's own failure nor leave workers running.
            await Task.WhenAny(kubelet, Task.Delay(TimeSpan.FromSeconds(30)));
            await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(30)));
            foreach (var process in workers.Values) await process.DisposeAsync();
        }
    }
}
