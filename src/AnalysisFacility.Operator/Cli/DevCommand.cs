using System.Diagnostics.CodeAnalysis;
using System.CommandLine;
using System.Net;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Api;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.LocalCluster;
using AnalysisFacility.LocalCluster.ControlPlane;
using AnalysisFacility.LocalCluster.Node;
using AnalysisFacility.Operator.Builders.Dask;
using AnalysisFacility.Operator.Controllers.Dask;
using AnalysisFacility.Operator.Dev;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Hosting;
using k8s.Models;
using Serilog.Events;

using AnalysisFacility.Operator.Runtime.Schema;

namespace AnalysisFacility.Operator.Cli;

/// <summary>
/// `dev`: a whole facility on this machine. Starts a local cluster (etcd, kube-apiserver, kube-controller-manager,
/// kube-scheduler and a local node that runs pods as real processes), installs the CRDs, runs the operator and applies
/// deploy/samples. Pods whose programs this machine lacks wait with ImageNotRunnableHere, and `--once` lists them.
/// `--simulate-kubelet` keeps the older behaviour for machines without namespace rights: no node, pods marked Ready.
/// </summary>
[RequiresUnreferencedCode(CrdGenerator.Reflection), RequiresDynamicCode(CrdGenerator.Reflection)]
public sealed class DevCommand
{
    private readonly Option<string?> _samples = CliOption.OptionalText("--samples", "resources to apply (default deploy/samples)");
    private readonly Option<string?> _overlay = CliOption.OptionalText("--overlay",
        "documents merged into the samples first, or none (default deploy/dev/overlay: dummy login, store under /var/lib/af-dev)");
    private readonly Option<bool> _once = CliOption.Flag("--once", "exit after printing the reconciled state and which pods run (default: run until Ctrl-C)");
    private readonly Option<bool> _simulateKubelet = CliOption.Flag("--simulate-kubelet",
        "no node: mark pods Running/Ready without running them (machines without root)");
    private readonly Option<decimal> _nodeCpu = CliOption.Create("--node-cpu", "CPUs the local node offers the scheduler", 64m,
        text => decimal.Parse(text, System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture));
    private readonly Option<ResourceQuantity> _nodeMemory = CliOption.Create("--node-memory", "memory the local node offers the scheduler",
        new ResourceQuantity("256Gi"), text => new ResourceQuantity(text));
    private readonly Option<int> _nodeGpus = CliOption.Number("--node-gpus", "nvidia.com/gpu the local node offers the scheduler", 0);
    private readonly Option<LogEventLevel> _logLevel = CliOption.LogLevel("--log-level", "least level logged", LogEventLevel.Warning, "AF_LOG_LEVEL");

    public DevCommand()
    {
        Command = new Command("dev", "local cluster (control plane + a node running pods as processes) + CRDs + operator + deploy/samples")
        {
            _samples, _overlay, _once, _simulateKubelet, _nodeCpu, _nodeMemory, _nodeGpus, _logLevel, Logs(),
        };
        Command.SetAction(result => RunAsync(result));
    }

    public Command Command { get; }

    private static Command Logs()
    {
        var pod = new Argument<string>("NAMESPACE/POD") { Description = "the pod whose container output to print" };
        var container = CliOption.OptionalText("--container", "the container (needed when the pod has several)");
        container.Aliases.Add("-c");
        var command = new Command("logs", "a container's output on the local node (of a running dev)") { pod, container };
        command.SetAction(result => DevLogs(result.GetRequiredValue(pod), result.GetValue(container)));
        return command;
    }

    private async Task<int> RunAsync(ParseResult line)
    {
        var log = Logging.Create(line.GetValue(_logLevel), json: false);
        var samples = line.GetValue(_samples) ?? FindSamples();
        var simulate = line.GetValue(_simulateKubelet);
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        // SIGTERM (kill, a service manager) stops as Ctrl-C does, so pods, mounts and namespaces are cleaned up.
        using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });

        LocalKubernetesCluster? cluster = null;
        LocalControlPlane? bare = null;
        if (simulate)
        {
            Console.WriteLine("Starting a local control plane (etcd, kube-apiserver, kube-controller-manager) on 127.0.0.1; pods are simulated ...");
            bare = await LocalControlPlane.StartAsync(stop.Token);
        }
        else
        {
            if (LocalNode.WhyUnavailable() is { } why)
            {
                Console.Error.WriteLine($"error: {why}; run as root, or use --simulate-kubelet to mark pods Ready without running them");
                return 2;
            }
            Console.WriteLine("Starting a local cluster (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) and a local node ...");
            var capacity = NodeCapacity.OfThisMachine(
                cpu: line.GetValue(_nodeCpu), memoryBytes: line.GetRequiredValue(_nodeMemory).ToInt64(), gpus: line.GetValue(_nodeGpus));
            cluster = await LocalKubernetesCluster.StartAsync(log, stop.Token, new LocalNodeOptions { Capacity = capacity });
        }
        var plane = cluster?.Plane ?? bare!;
        try
        {
            return await RunFacilityAsync(line, log, plane, cluster, samples, stop);
        }
        finally
        {
            if (cluster is not null) await cluster.DisposeAsync();
            if (bare is not null) await bare.DisposeAsync();
        }
    }

    private async Task<int> RunFacilityAsync(ParseResult line, Serilog.ILogger log, LocalControlPlane plane, LocalKubernetesCluster? cluster, string samples,
        CancellationTokenSource stop)
    {
        var node = cluster?.Node;
        await using var facilityOperator = await LocalFacilityOperator.StartAsync(plane.AdminConfiguration(), cluster, log, stop.Token);
        var api = facilityOperator.Api;
        var host = facilityOperator.Host;
        var run = facilityOperator.Completion;
        Console.WriteLine($"Control plane ready at {plane.Server}; CRDs installed. kubectl: {Path.Combine(LocalControlPlane.BinDirectory, "kubectl")} --kubeconfig {plane.KubeconfigPath}");

        var applied = await ApplySamplesAsync(api, plane, samples, (line.GetValue(_overlay) ?? FindOverlay()) is var o && o != "none" ? o : null, stop.Token);
        var journey = node is null ? null : DevJourney.From(applied);
        var started = DateTime.UtcNow;
        var deadline = started.AddMinutes(node is null ? 3 : 5);
        while (!stop.IsCancellationRequested)
        {
            if (node is null) await MarkPendingPodsReadyAsync(api, stop.Token);

            await Task.Delay(2000, stop.Token).ContinueWith(_ => { });
            var (table, allReady, allReconciled) = await StatusTableAsync(api, stop.Token);
            var pods = await DevPodReport.BuildAsync(api, stop.Token);
            // Ready needs running programs: a resource whose pods cannot run here honestly stays not Ready, with the
            // pod report saying why. Every resource having been reconciled and the pods settled is what --once checks.
            if (line.GetValue(_once) && (allReady || (allReconciled && pods.Settled && DateTime.UtcNow > started.AddSeconds(60)) || DateTime.UtcNow > deadline))
            {
                // As the person the samples are for: log in, start a server, open it (the notebook follows from the hub).
                (bool Spawned, string Report)? spawned = journey is null ? null : await journey.SpawnAsync(node!, TimeSpan.FromMinutes(3), stop.Token);
                (table, allReady, allReconciled) = await StatusTableAsync(api, stop.Token);
                pods = await DevPodReport.BuildAsync(api, stop.Token);
                Console.WriteLine(table);
                Console.WriteLine();
                Console.WriteLine(pods.Table);
                if (spawned is { } result) Console.WriteLine(result.Report);
                Console.WriteLine(allReady ? "All sample resources are Ready."
                    : allReconciled ? "Every resource is reconciled; those not Ready say why in the Reason column, and the pods above say which programs run here."
                    : "Some resources were not reconciled in time.");
                stop.Cancel();
                await run;
                return allReconciled && spawned is not { Spawned: false } ? 0 : 1;
            }
            if (!line.GetValue(_once))
            {
                Console.WriteLine(table);
                Console.WriteLine(pods.Table);
                if (journey is not null) Console.WriteLine(journey.LoginHint(node!));
                Console.WriteLine($"metrics: {host.HttpEndpoint}metrics   logs: dev logs NAMESPACE/POD [-c CONTAINER]   (Ctrl-C stops everything)");
                await Task.Delay(8000, stop.Token).ContinueWith(_ => { });
            }
        }
        await run;
        return 0;
    }

    private static int DevLogs(string pod, string? container)
    {
        var logs = NodeLogs.Find(pod);
        if (logs.Count == 0)
        {
            Console.Error.WriteLine($"error: no pod {pod} runs on a local node of this machine");
            return 1;
        }
        if (container is null && logs.Count > 1) throw new ArgumentException($"pod {pod} has several containers; choose one with -c ({string.Join(", ", logs.Keys)})");
        var file = container is null ? logs.Values.Single() : logs.TryGetValue(container, out var f) ? f
            : throw new ArgumentException($"pod {pod} has no container {container} ({string.Join(", ", logs.Keys)})");
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.CopyTo(Console.OpenStandardOutput());
        return 0;
    }

    /// <summary>Where dev keeps the data of its facility (the sample user store's source directory).</summary>
    public const string DevDataDirectory = "/var/lib/af-dev";

    private static string FindSamples() => FindInRepository("deploy", "samples");

    private static string FindOverlay() => FindInRepository("deploy", "dev", "overlay");

    private static string FindInRepository(params string[] parts)
    {
        var directory = new DirectoryInfo(Environment.CurrentDirectory);
        while (directory is not null && !Directory.Exists(Path.Combine([directory.FullName, .. parts]))) directory = directory.Parent;
        return directory is null ? Path.Combine(parts) : Path.Combine([directory.FullName, .. parts]);
    }

    /// <summary>The sample objects with the overlay's documents merged into those of the same kind, namespace and name.</summary>
    private static List<JsonObject> ReadSamples(string samples, string? overlay)
    {
        static IEnumerable<JsonObject> Documents(string directory) => Directory.GetFiles(directory, "*.yaml").OrderBy(f => f, StringComparer.Ordinal)
            .SelectMany(f => YamlDocuments.Parse(File.ReadAllText(f)));
        static string Key(JsonObject o) => $"{o["kind"]}/{o["metadata"]?["namespace"]}/{o["metadata"]?["name"]}";
        var objects = Documents(samples).ToList();
        if (overlay is not null)
        {
            foreach (var patch in Documents(overlay))
            {
                var target = objects.FirstOrDefault(o => Key(o) == Key(patch)) ?? throw new ArgumentException($"overlay object {Key(patch)} matches no sample");
                MergePatch.Apply(target, patch);
            }
        }
        return objects;
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunKubectlAsync(string kubectl, IEnumerable<string> arguments, string? input,
        CancellationToken cancellationToken)
    {
        var info = new System.Diagnostics.ProcessStartInfo(kubectl, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = input is not null };
        using var process = System.Diagnostics.Process.Start(info)!;
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, await output, await error);
    }

    private static async Task<IReadOnlyList<JsonObject>> ApplySamplesAsync(KubernetesApi api, LocalControlPlane plane, string samples, string? overlay,
        CancellationToken cancellationToken)
    {
        var kubectl = Path.Combine(LocalControlPlane.BinDirectory, "kubectl");
        var objects = ReadSamples(samples, overlay);
        var text = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "List", ["items"] = new JsonArray([.. objects.Select(o => (JsonNode)o.DeepClone())]) }.ToJsonString();
        var namespaces = System.Text.RegularExpressions.Regex.Matches(text, "\"namespace\":\"([a-z0-9-]+)\"").Select(m => m.Groups[1].Value).Distinct();
        foreach (var ns in namespaces)
        {
            await IgnoreConflictAsync(() => api.CreateAsync(api.Types.For<V1Namespace>(),
                new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = ns } }, cancellationToken));
            // Stand-ins for the Secrets an admin would create (OAuth client, bucket credentials): dev only, obviously fake.
            foreach (var secret in System.Text.RegularExpressions.Regex.Matches(text, "\"(?:name|credentialsSecret|userCredentialsSecret)\":\"([a-z0-9-]+-(?:auth|bucket|credentials|users))\"").Select(m => m.Groups[1].Value).Distinct())
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
        // The overlay keeps the user store's source under dev's own directory; dev makes it (never anything outside it).
        foreach (var source in System.Text.RegularExpressions.Regex.Matches(text, "\"sourcePath\":\"([^\"]+)\"").Select(m => m.Groups[1].Value)
                     .Where(p => p.StartsWith(DevDataDirectory + "/", StringComparison.Ordinal)))
        {
            Directory.CreateDirectory(source);
        }
        var (_, output, error) = await RunKubectlAsync(kubectl, ["--kubeconfig", plane.KubeconfigPath, "apply", "-f", "-"], text, cancellationToken);
        Console.Write(output + error);
        return objects;
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
