using System.Net;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Api;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.LocalCluster.ControlPlane;
using AnalysisFacility.Operator.Dev;
using AnalysisFacility.Operator.Hosting;
using AnalysisFacility.Operator.Runtime.Client;
using k8s.Models;

namespace AnalysisFacility.Operator.Cli;

/// <summary>
/// `dev`: a whole facility on this machine. Starts a local control plane (etcd, kube-apiserver,
/// kube-controller-manager), installs the CRDs, runs the operator and applies deploy/samples. There is no kubelet, so
/// by default dev plays its part and marks pods Running/Ready (say --no-simulate-kubelet to watch pods stay Pending).
/// </summary>
public static class DevCommand
{
    public const string Usage = """
        dev [options]                 local control plane + CRDs + operator + deploy/samples (no cluster needed)
          --samples DIR               resources to apply (default deploy/samples)
          --once                      exit after printing the reconciled state (default: run until Ctrl-C)
          --no-simulate-kubelet       leave pods Pending instead of marking them Ready
        """;

    public static async Task<int> RunAsync(CommandLine line)
    {
        var log = Logging.Create(line.Get("log-level", "AF_LOG_LEVEL", "warning")!, json: false);
        var samples = line.Get("samples", null, FindSamples())!;
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };

        Console.WriteLine("Starting a local control plane (etcd, kube-apiserver, kube-controller-manager) on 127.0.0.1 ...");
        await using var plane = await LocalControlPlane.StartAsync(stop.Token);
        using var api = new KubernetesApi(plane.AdminConfiguration());
        await CrdInstaller.InstallAsync(api, ApiTypes.All, stop.Token);
        Console.WriteLine($"Control plane ready at {plane.Server}; CRDs installed. kubectl: {Path.Combine(LocalControlPlane.BinDirectory, "kubectl")} --kubeconfig {plane.KubeconfigPath}");

        var options = new OperatorHostOptions
        {
            Settings = new OperatorSettings { OperatorNamespace = "default" },
            ListenAddress = IPAddress.Loopback, HttpPort = 0, IssuerPort = 0,
        };
        await using var host = new OperatorHost(plane.AdminConfiguration(), options, log);
        var run = Task.Run(() => host.RunAsync(stop.Token));

        await ApplySamplesAsync(api, plane, samples, stop.Token);
        var simulateKubelet = !line.Flag("no-simulate-kubelet");
        var started = DateTime.UtcNow;
        var deadline = started.AddMinutes(3);
        while (!stop.IsCancellationRequested)
        {
            if (simulateKubelet) await MarkPendingPodsReadyAsync(api, stop.Token);

            await Task.Delay(2000, stop.Token).ContinueWith(_ => { });
            var (table, allReady, allReconciled) = await StatusTableAsync(api, stop.Token);
            // Ready needs running programs; with pods simulated, e.g. a Dask scheduler's HTTP API never answers, and its
            // cluster honestly reports SchedulerUnreachable. Every resource having been reconciled is what --once checks.
            if (line.Flag("once") && (allReady || (allReconciled && DateTime.UtcNow > started.AddSeconds(60)) || DateTime.UtcNow > deadline))
            {
                Console.WriteLine(table);
                Console.WriteLine(allReady ? "All sample resources are Ready."
                    : allReconciled ? "Every resource is reconciled; those not Ready say why in the Reason column (no real workloads run without a kubelet)."
                    : "Some resources were not reconciled within 3 minutes.");
                stop.Cancel();
                await run;
                return allReconciled ? 0 : 1;
            }
            if (!line.Flag("once"))
            {
                Console.WriteLine(table);
                Console.WriteLine($"metrics: {host.HttpEndpoint}metrics   (Ctrl-C stops everything)");
                await Task.Delay(8000, stop.Token).ContinueWith(_ => { });
            }
        }
        await run;
        return 0;
    }

    private static string FindSamples()
    {
        var directory = new DirectoryInfo(Environment.CurrentDirectory);
        while (directory is not null && !Directory.Exists(Path.Combine(directory.FullName, "deploy", "samples"))) directory = directory.Parent;
        return directory is null ? "deploy/samples" : Path.Combine(directory.FullName, "deploy", "samples");
    }

    private static async Task ApplySamplesAsync(KubernetesApi api, LocalControlPlane plane, string samples, CancellationToken cancellationToken)
    {
        var files = Directory.GetFiles(samples, "*.yaml").OrderBy(f => f).ToList();
        var text = string.Join("\n---\n", files.Select(File.ReadAllText));
        var namespaces = System.Text.RegularExpressions.Regex.Matches(text, @"(?m)^\s+namespace:\s*([a-z0-9-]+)\s*$").Select(m => m.Groups[1].Value).Distinct();
        foreach (var ns in namespaces)
        {
            await IgnoreConflictAsync(() => api.CreateAsync(api.Types.For<V1Namespace>(),
                new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = ns } }, cancellationToken));
            // Stand-ins for the Secrets an admin would create (OAuth client, bucket credentials): dev only, obviously fake.
            foreach (var secret in System.Text.RegularExpressions.Regex.Matches(text, @"(?:name|credentialsSecret):\s*([a-z0-9-]+-(?:auth|bucket|credentials))\b").Select(m => m.Groups[1].Value).Distinct())
            {
                var data = new JsonObject();
                foreach (var key in new[] { "client_id", "client_secret", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "accessKey", "secretKey" })
                {
                    data[key] = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("dev-placeholder"));
                }
                await IgnoreConflictAsync(() => api.CreateAsync(api.Types.For<V1Secret>(), new JsonObject
                {
                    ["apiVersion"] = "v1", ["kind"] = "Secret",
                    ["metadata"] = new JsonObject { ["name"] = secret, ["namespace"] = ns, ["labels"] = new JsonObject { ["analysisfacility.io/dev-placeholder"] = "true" } },
                    ["data"] = data,
                }, cancellationToken));
            }
        }
        var kubectl = Path.Combine(LocalControlPlane.BinDirectory, "kubectl");
        foreach (var file in files)
        {
            var info = new System.Diagnostics.ProcessStartInfo(kubectl, ["--kubeconfig", plane.KubeconfigPath, "apply", "-f", file]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = System.Diagnostics.Process.Start(info)!;
            var output = await process.StandardOutput.ReadToEndAsync(cancellationToken) + await process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            Console.Write(output);
        }
    }

    private static async Task IgnoreConflictAsync(Func<Task> create)
    {
        try
        {
            await create();
        }
        catch (KubernetesApiException e) when (e.IsConflict || e.Reason == "AlreadyExists")
        {
            // already there
        }
    }

    private static async Task MarkPendingPodsReadyAsync(KubernetesApi api, CancellationToken cancellationToken)
    {
        var pods = await api.ListAsync(api.Types.For<V1Pod>(), null, "app.kubernetes.io/managed-by=analysisfacility-operator", 500, null, cancellationToken);
        var n = 0;
        foreach (var pod in pods.Items.Where(p => p["status"]?["phase"]?.GetValue<string>() is null or "Pending"))
        {
            var now = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ");
            var ip = $"10.244.0.{10 + n++ % 240}";
            var patch = new JsonObject
            {
                ["status"] = new JsonObject
                {
                    ["phase"] = "Running", ["podIP"] = ip, ["podIPs"] = new JsonArray(new JsonObject { ["ip"] = ip }), ["startTime"] = now,
                    ["conditions"] = new JsonArray(
                        new JsonObject { ["type"] = "Ready", ["status"] = "True", ["lastTransitionTime"] = now },
                        new JsonObject { ["type"] = "ContainersReady", ["status"] = "True", ["lastTransitionTime"] = now }),
                },
            };
            await api.PatchAsync(api.Types.For<V1Pod>(), pod["metadata"]!["namespace"]!.GetValue<string>(), pod["metadata"]!["name"]!.GetValue<string>(),
                patch.ToJsonString(), KubernetesApi.MergePatch, cancellationToken, subresource: "status");
        }
    }

    private static async Task<(string Table, bool AllReady, bool AllReconciled)> StatusTableAsync(KubernetesApi api, CancellationToken cancellationToken)
    {
        var rows = new List<string[]> { new[] { "KIND", "NAMESPACE/NAME", "READY", "PHASE", "REASON" } };
        var allReady = true;
        var allReconciled = true;
        foreach (var type in ApiTypes.All)
        {
            var page = await api.ListAsync(api.Types.For(type), null, null, 500, null, cancellationToken);
            foreach (var item in page.Items)
            {
                var ready = item["status"]?["conditions"]?.AsArray().FirstOrDefault(c => c?["type"]?.GetValue<string>() == "Ready");
                var isReady = ready?["status"]?.GetValue<string>() == "True";
                allReady &= isReady;
                allReconciled &= item["status"]?["observedGeneration"]?.GetValue<long>() == item["metadata"]?["generation"]?.GetValue<long>();
                rows.Add([type.Name, $"{item["metadata"]!["namespace"]}/{item["metadata"]!["name"]}", ready?["status"]?.GetValue<string>() ?? "-",
                    item["status"]?["phase"]?.GetValue<string>() ?? "-", ready?["reason"]?.GetValue<string>() ?? "-"]);
            }
        }
        var widths = Enumerable.Range(0, 5).Select(i => rows.Max(r => r[i].Length)).ToArray();
        var table = string.Join("\n", rows.Select(r => string.Join("  ", r.Select((c, i) => c.PadRight(widths[i])))));
        return (table, allReady && rows.Count > 1, allReconciled && rows.Count > 1);
    }
}
