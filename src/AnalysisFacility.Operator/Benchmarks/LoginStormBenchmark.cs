using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Diagnostics;
using AnalysisFacility.LocalCluster.ControlPlane;
using AnalysisFacility.Operator.Api;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.Sessions;
using AnalysisFacility.Operator.Builders.Tokens;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.Operator.Dev;
using AnalysisFacility.Operator.Runtime.Apply;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Runtime.Schema;
using k8s.Models;
using ILogger = Serilog.ILogger;

namespace AnalysisFacility.Operator.Benchmarks;

/// <param name="Rate">UserSessions created per second, at even intervals (each create on its own, not waiting for the last).</param>
public sealed record LoginStormOptions(double Rate, TimeSpan Duration, int Workers, TimeSpan Timeout, string? OperatorPath = null);

/// <summary>Latencies from a UserSession's creation (its create call answered) to its Pod and to its token Secret being seen.</summary>
public sealed record LoginStormResult(double Rate, TimeSpan Duration, int Sessions, IReadOnlyList<TimeSpan> ToPod, IReadOnlyList<TimeSpan> ToToken,
    TimeSpan OperatorCpu, long PeakResident, long IdleResident, (double Start, double End) Load)
{
    public static TimeSpan Percentile(IReadOnlyList<TimeSpan> sorted, double p) =>
        sorted.Count == 0 ? TimeSpan.Zero : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static string Line(IReadOnlyList<TimeSpan> sorted) =>
        $"p50 {Percentile(sorted, 0.50).TotalMilliseconds:F0} ms, p99 {Percentile(sorted, 0.99).TotalMilliseconds:F0} ms, max {(sorted.Count == 0 ? 0 : sorted[^1].TotalMilliseconds):F0} ms ({sorted.Count} sessions)";

    public override string ToString() => string.Join(Environment.NewLine,
        $"login storm:                    {Sessions} UserSessions at {Rate:F0} per second for {Duration.TotalSeconds:F0} s",
        $"creation to Pod:                {Line(ToPod)}",
        $"creation to token Secret:       {Line(ToToken)}",
        $"operator CPU:                   {OperatorCpu.TotalSeconds:F1} s ({OperatorCpu.TotalMilliseconds / Math.Max(1, Sessions):F1} ms per session)",
        $"operator peak memory (VmHWM):   {SessionBenchmarkResult.Mib(PeakResident)} MiB (idle before the storm: {SessionBenchmarkResult.Mib(IdleResident)} MiB)",
        $"machine load (1 min):           {MachineLoad.Describe(Load.Start, Load.End)}");
}

/// <summary>
/// Sessions arriving as in a login storm (a lecture starting): a steady rate of UserSession creates against the operator in
/// its own process, each timed until the benchmark's informers see its Pod and its token Secret. Not a test: run from the CLI.
/// </summary>
[RequiresUnreferencedCode(CrdGenerator.Reflection), RequiresDynamicCode(CrdGenerator.Reflection)]
public static class LoginStormBenchmark
{
    public static async Task<LoginStormResult> RunAsync(LoginStormOptions options, ILogger log, CancellationToken cancellationToken)
    {
        Console.Error.WriteLine("starting local control plane ...");
        var loadAtStart = MachineLoad.Now();
        await using var plane = await LocalControlPlane.StartAsync(cancellationToken, withControllerManager: false);
        using var api = new KubernetesApi(plane.AdminConfiguration(), ApiJson.With(BenchJsonContext.Default));
        await CrdInstaller.InstallAsync(api, ApiTypes.All, cancellationToken);
        var ns = await SessionBenchmark.CreateNamespaceAsync(api, "bench-storm", cancellationToken);
        await SessionBenchmark.CreateFacilityAsync(api, ns, cancellationToken);
        var deadline = DateTime.UtcNow + options.Timeout;
        await using var op = await SessionBenchmark.StartOperatorAsync(plane, ns, options.Workers, options.OperatorPath, deadline, cancellationToken);
        var idle = op.ResidentMemory().Current;

        // First sight of each session's pod and token Secret, by object name, on the benchmark's clock.
        var clock = Stopwatch.StartNew();
        var podSeen = new ConcurrentDictionary<string, TimeSpan>();
        var tokenSeen = new ConcurrentDictionary<string, TimeSpan>();
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var selector = new InformerOptions { Namespaces = [ns], LabelSelector = OperatorSettings.ManagedSelector };
        var pods = new Informer<ObjectMetadata>(api, api.Types.For<V1Pod>(), selector, log);
        var secrets = new Informer<ObjectMetadata>(api, api.Types.For<V1Secret>(), selector, log);
        pods.AddHandler((_, o) => podSeen.TryAdd(o.Metadata.Name, clock.Elapsed));
        secrets.AddHandler((_, o) => tokenSeen.TryAdd(o.Metadata.Name, clock.Elapsed));
        var informers = Task.WhenAll(pods.RunAsync(watching.Token), secrets.RunAsync(watching.Token));
        await Task.WhenAll(pods.Synced, secrets.Synced);

        var count = (int)Math.Round(options.Rate * options.Duration.TotalSeconds);
        var created = new TimeSpan?[count];
        var cpuBefore = op.CpuTime();
        Console.Error.WriteLine($"storm: {count} UserSessions at {options.Rate} per second ...");
        var start = clock.Elapsed;
        var creates = new List<Task>(count);
        for (var i = 0; i < count; i++)
        {
            var due = start + TimeSpan.FromSeconds(i / options.Rate);
            if (due > clock.Elapsed) await Task.Delay(due - clock.Elapsed, cancellationToken);
            var index = i;
            creates.Add(Task.Run(async () =>
            {
                await api.CreateAsync(api.Types.For<UserSession>(), ApiJson.ToNode(SessionBenchmark.Session(ns, index)), cancellationToken);
                created[index] = clock.Elapsed;
            }, cancellationToken));
        }
        await Task.WhenAll(creates);

        string PodName(int i) => SessionNames.Server(SessionBenchmark.Session(ns, i).Metadata.Name);
        string TokenName(int i) => TokenDelivery.SecretName(SessionBenchmark.FacilityName, SessionBenchmark.Session(ns, i).Spec.User.Name);
        while (Enumerable.Range(0, count).Any(i => !podSeen.ContainsKey(PodName(i)) || !tokenSeen.ContainsKey(TokenName(i))))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"only {podSeen.Count} pods and {tokenSeen.Count} token Secrets of {count} sessions after {options.Timeout}");
            await Task.Delay(50, cancellationToken);
        }
        var cpu = op.CpuTime() - cpuBefore;
        var peak = op.ResidentMemory().Peak;
        await watching.CancelAsync();
        await informers;

        // A watch event can arrive before the create call's answer: such a latency is counted as zero.
        List<TimeSpan> Latencies(ConcurrentDictionary<string, TimeSpan> seen, Func<int, string> name) =>
            [.. Enumerable.Range(0, count).Select(i => seen[name(i)] - created[i]!.Value).Select(t => t < TimeSpan.Zero ? TimeSpan.Zero : t).Order()];
        return new LoginStormResult(options.Rate, options.Duration, count, Latencies(podSeen, PodName), Latencies(tokenSeen, TokenName), cpu, peak, idle, (loadAtStart, MachineLoad.Now()));
    }
}
