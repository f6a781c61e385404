using System.Diagnostics.CodeAnalysis;
using AnalysisFacility.Operator.Controllers.Facility;
using System.Diagnostics;
using AnalysisFacility.Operator.Api;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.Sessions;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.Operator.Controllers.Sessions;
using AnalysisFacility.LocalCluster.ControlPlane;
using AnalysisFacility.Operator.Dev;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Apply;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Tokens.Issuance;
using AnalysisFacility.Operator.Tokens.Keys;
using AnalysisFacility.Operator.Runtime.Schema;
using k8s;
using k8s.Models;
using ILogger = Serilog.ILogger;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Benchmarks;

/// <param name="OperatorPath">Another build of the operator to run (a native one, say); null runs this program's `run`.</param>
public sealed record SessionBenchmarkOptions(int Count, int Workers, TimeSpan SteadyWindow, TimeSpan Timeout, int Rounds = 3, string? OperatorPath = null);

/// <summary>One round: the operator phase, then the floor phase right after it.</summary>
public sealed record SessionBenchmarkRound(int Count, TimeSpan OperatorTime, TimeSpan FloorTime, long PeakResident, TimeSpan OperatorCpu)
{
    public double Ratio => OperatorTime / FloorTime;
    /// <summary>What the operator adds to each session over creating its objects directly: (operator - floor) / N. Less
    /// sensitive than the ratio to how fast the shared machine is in a round (a slow floor does not shrink it).</summary>
    public double AddedMillisecondsPerSession => (OperatorTime - FloorTime).TotalMilliseconds / Count;
    public double CpuMillisecondsPerSession => OperatorCpu.TotalMilliseconds / Count;
}

public sealed record SessionBenchmarkResult(int Count, int Workers, TimeSpan OperatorTime, TimeSpan FloorTime, long OperatorWrites,
    long SteadyWrites, TimeSpan SteadyWindow, long PeakResident, long SteadyResident, long IdleResident, int ObjectsPerSession,
    double Reconciles, double AppliesSkipped, TimeSpan OperatorCpu)
{
    /// <summary>Idle resident memory in anonymous pages (heaps), file pages (mapped program and libraries) and shared memory (JIT code, W^X).</summary>
    public (long Anonymous, long File, long Shared) IdleBreakdown { get; init; }
    public (double Start, double End) Load { get; init; }
    public IReadOnlyList<SessionBenchmarkRound> Rounds { get; init; } = [];
    /// <summary>The median of the rounds' ratios (each round's floor runs right after its operator phase, so drift in the
    /// shared machine's speed cancels within a round); a single round's ratio otherwise.</summary>
    public double Ratio => Rounds.Count == 0 ? OperatorTime / FloorTime : Median(Rounds.Select(r => r.Ratio));
    public double AddedMillisecondsPerSession => Rounds.Count == 0 ? (OperatorTime - FloorTime).TotalMilliseconds / Count : Median(Rounds.Select(r => r.AddedMillisecondsPerSession));
    public double WritesPerSession => (double)OperatorWrites / Count;

    internal static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private string RoundList(Func<SessionBenchmarkRound, string> format) =>
        Rounds.Count <= 1 ? "" : $" (rounds: {string.Join(", ", Rounds.Select(format))})";

    public override string ToString() => string.Join(Environment.NewLine,
        $"sessions:                       {Count} (workers: {Workers}, rounds: {Math.Max(1, Rounds.Count)})",
        $"operator, until all objects:    {OperatorTime.TotalSeconds:F1} s{RoundList(r => $"{r.OperatorTime.TotalSeconds:F1}")}",
        $"floor, same objects directly:   {FloorTime.TotalSeconds:F1} s ({ObjectsPerSession} objects per session, same client and concurrency){RoundList(r => $"{r.FloorTime.TotalSeconds:F1}")}",
        $"ratio operator / floor:         {Ratio:F2}{(Rounds.Count <= 1 ? "" : " median")}{RoundList(r => $"{r.Ratio:F2}")}",
        $"added time per session:         {AddedMillisecondsPerSession:F1} ms (operator - floor) / N{(Rounds.Count <= 1 ? "" : " median")}{RoundList(r => $"{r.AddedMillisecondsPerSession:F1}")}",
        $"API writes per session:         {WritesPerSession:F2} (operator total {OperatorWrites})",
        $"reconciles per session:         {Reconciles / Count:F2} (applies skipped as unchanged: {AppliesSkipped / Count:F2} per session)",
        $"operator CPU until settled:     {OperatorCpu.TotalSeconds:F1} s ({OperatorCpu.TotalMilliseconds / Count:F1} ms per session{(Rounds.Count <= 1 ? "" : " median")}, both cores shared with etcd and kube-apiserver){RoundList(r => $"{r.CpuMillisecondsPerSession:F1}")}",
        $"writes in steady state:         {SteadyWrites} in {SteadyWindow.TotalSeconds:F0} s",
        $"operator peak memory (VmHWM):   {Mib(PeakResident)} MiB = {PeakResident / 1e6:F0} MB, highest round (own process; idle before the sessions: {Mib(IdleResident)} MiB = {Mib(IdleBreakdown.Anonymous)} anonymous + {Mib(IdleBreakdown.File)} file + {Mib(IdleBreakdown.Shared)} shared, settled: {Mib(SteadyResident)} MiB){RoundList(r => Mib(r.PeakResident))}",
        $"machine load (1 min):           {MachineLoad.Describe(Load.Start, Load.End)}");

    internal static string Mib(long bytes) => (bytes / (1024.0 * 1024)).ToString("F0", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// Provisions UserSessions against a local control plane (etcd + kube-apiserver) with the operator in a process of its
/// own (as `run` runs in a cluster), then creates the same objects directly with the same client and concurrency as the
/// floor. Not a test: run from the CLI.
/// </summary>
[RequiresUnreferencedCode(CrdGenerator.Reflection), RequiresDynamicCode(CrdGenerator.Reflection)]
public static class SessionBenchmark
{
    internal const string FacilityName = "bench-af";

    public static async Task<SessionBenchmarkResult> RunAsync(SessionBenchmarkOptions options, ILogger log, CancellationToken cancellationToken)
    {
        Console.Error.WriteLine("starting local control plane ...");
        var loadAtStart = MachineLoad.Now();
        await using var plane = await LocalControlPlane.StartAsync(cancellationToken, withControllerManager: false);
        using var api = new KubernetesApi(plane.AdminConfiguration(), ApiJson.With(BenchJsonContext.Default));
        await CrdInstaller.InstallAsync(api, ApiTypes.All, cancellationToken);

        // Rounds, each an operator phase then its floor: the shared machine's speed drifts, a round's two phases see the same.
        var rounds = new List<SessionBenchmarkResult>();
        for (var round = 1; round <= Math.Max(1, options.Rounds); round++)
        {
            if (options.Rounds > 1) Console.Error.WriteLine($"round {round} of {options.Rounds}");
            rounds.Add(await RunRoundAsync(api, plane, options, options.Rounds > 1 ? $"-{round}" : "", log, cancellationToken));
        }
        var load = (loadAtStart, MachineLoad.Now());
        if (rounds.Count == 1) return rounds[0] with { Load = load };
        static TimeSpan Median(IEnumerable<TimeSpan> values) => TimeSpan.FromTicks((long)SessionBenchmarkResult.Median(values.Select(v => (double)v.Ticks)));
        // Times and CPU as medians; writes, steady-state writes and memory as the worst round.
        return rounds[0] with
        {
            Load = load,
            OperatorTime = Median(rounds.Select(r => r.OperatorTime)),
            FloorTime = Median(rounds.Select(r => r.FloorTime)),
            OperatorCpu = Median(rounds.Select(r => r.OperatorCpu)),
            OperatorWrites = rounds.Max(r => r.OperatorWrites),
            Reconciles = rounds.Max(r => r.Reconciles),
            SteadyWrites = rounds.Sum(r => r.SteadyWrites),
            PeakResident = rounds.Max(r => r.PeakResident),
            SteadyResident = rounds.Max(r => r.SteadyResident),
            IdleResident = rounds.Max(r => r.IdleResident),
            IdleBreakdown = rounds.MaxBy(r => r.IdleResident)!.IdleBreakdown,
            Rounds = rounds.Select(r => new SessionBenchmarkRound(r.Count, r.OperatorTime, r.FloorTime, r.PeakResident, r.OperatorCpu)).ToList(),
        };
    }

    private static async Task<SessionBenchmarkResult> RunRoundAsync(KubernetesApi api, LocalControlPlane plane, SessionBenchmarkOptions options,
        string suffix, ILogger log, CancellationToken cancellationToken)
    {
        // Operator phase.
        var ns = await CreateNamespaceAsync(api, "bench-operator" + suffix, cancellationToken);
        await CreateFacilityAsync(api, ns, cancellationToken);
        var deadline = DateTime.UtcNow + options.Timeout;
        await using var op = await StartOperatorAsync(plane, ns, options.Workers, options.OperatorPath, deadline, cancellationToken);
        var idle = op.ResidentMemory().Current;
        var idleBreakdown = op.ResidentBreakdown();

        // The benchmark watches with informers of its own (the same runtime code as the operator's). It only counts pods,
        // so it decodes their metadata alone: the observer should not take CPU from the operator it measures.
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pods = new Informer<ObjectMetadata>(api, api.Types.For<V1Pod>(), new InformerOptions { Namespaces = [ns], LabelSelector = OperatorSettings.ManagedSelector }, log);
        var sessions = new Informer<UserSession>(api, api.Types.For<UserSession>(), new InformerOptions { Namespaces = [ns] }, log);
        var informers = Task.WhenAll(pods.RunAsync(watching.Token), sessions.RunAsync(watching.Token));
        await Task.WhenAll(pods.Synced, sessions.Synced);

        var before = await op.CountersAsync(cancellationToken);
        var cpuBefore = op.CpuTime();
        Console.Error.WriteLine($"operator phase: creating {options.Count} UserSessions ...");
        var clock = Stopwatch.StartNew();
        await ForEachAsync(options.Count, options.Workers, i =>
            api.CreateAsync(api.Types.For<UserSession>(), ApiJson.ToNode(Session(ns, i)), cancellationToken), cancellationToken);
        while (pods.Count < options.Count)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"only {pods.Count} of {options.Count} sessions have their pod after {options.Timeout}");
            await Task.Delay(20, cancellationToken);
        }
        var operatorTime = clock.Elapsed;
        Console.Error.WriteLine($"all objects after {operatorTime.TotalSeconds:F1} s; waiting for the operator to settle ...");

        // Settled: every session has its token in status and no write for 3 s; then count writes over the window.
        await WaitQuietAsync(op, TimeSpan.FromSeconds(3), deadline, () => sessions.List(ns).All(s =>
            s.Status?.Conditions?.Any(c => c.Type == SessionConditions.TokenIssued && c.Status == "True") == true), cancellationToken);
        var after = await op.CountersAsync(cancellationToken);
        var operatorCpu = op.CpuTime() - cpuBefore;
        double Delta(string name) => after.GetValueOrDefault(name) - before.GetValueOrDefault(name);
        var operatorWrites = (long)Delta("analysisfacility_api_writes_total");
        var steadyStart = await op.WritesAsync(cancellationToken);
        await Task.Delay(options.SteadyWindow, cancellationToken);
        var steadyWrites = await op.WritesAsync(cancellationToken) - steadyStart;
        var (steadyResident, peakResident) = op.ResidentMemory();
        await watching.CancelAsync();
        await informers;
        await op.DisposeAsync();

        // Floor: the same objects, applied directly with the same client and concurrency.
        var floorNs = await CreateNamespaceAsync(api, "bench-floor" + suffix, cancellationToken);
        var floorFacility = await CreateFacilityAsync(api, floorNs, cancellationToken);
        var settings = IssuerSettings.FromSpec(floorFacility.Spec.Tokens, floorFacility.Metadata.Uid).ValueOrThrow();
        var ring = KeyRing.Empty.Rotate(DateTimeOffset.UtcNow, settings.Rotation).Ring;
        var objectsPerSession = 0;
        Console.Error.WriteLine($"floor phase: applying the same objects for {options.Count} sessions directly ...");
        clock.Restart();
        await ForEachAsync(options.Count, options.Workers, async i =>
        {
            // The session must exist to own its objects, as in the operator phase (created by the same client).
            var created = await api.CreateAsync(api.Types.For<UserSession>(), ApiJson.ToNode(Session(floorNs, i)), cancellationToken);
            var session = api.Decode<UserSession>(created);
            var plan = SessionPlanning.Plan(session, floorFacility, null);
            var token = TokenMinter.Mint(settings, ring, SessionPlanning.TokenRequestFor(session, plan.TokenStoreName), DateTimeOffset.UtcNow).ValueOrThrow();
            var objects = new List<IKubernetesObject<V1ObjectMeta>> { SessionPlanning.TokenSecret(session, floorFacility, token, "floor") };
            objects.AddRange(plan.Build.Objects!.All());
            objectsPerSession = objects.Count;
            foreach (var obj in objects)
            {
                await api.ApplyAsync(api.Types.ForKind(obj.ApiVersion, obj.Kind), ApiJson.ToNode(obj), Applier.DefaultFieldManager, force: true, cancellationToken);
            }
        }, cancellationToken);
        var floorTime = clock.Elapsed;
        return new SessionBenchmarkResult(options.Count, options.Workers, operatorTime, floorTime, operatorWrites, steadyWrites,
            options.SteadyWindow, peakResident, steadyResident, idle, objectsPerSession,
            Delta("analysisfacility_reconcile_total"), Delta("analysisfacility_apply_skipped_total"), operatorCpu) { IdleBreakdown = idleBreakdown };
    }

    /// <summary>The operator in its own process, ready and settled on the facility (so what follows measures sessions only).</summary>
    internal static async Task<OperatorProcess> StartOperatorAsync(LocalControlPlane plane, string ns, int workers, string? program, DateTime deadline,
        CancellationToken cancellationToken)
    {
        var op = OperatorProcess.Start(plane.KubeconfigPath, ns, workers, Path.GetTempPath(), program);
        try
        {
            await op.WaitReadyAsync(TimeSpan.FromMinutes(2), cancellationToken);
            await WaitQuietAsync(op, TimeSpan.FromSeconds(3), deadline, () => true, cancellationToken);
            return op;
        }
        catch
        {
            await op.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until <paramref name="done"/> holds and the operator has made no write for <paramref name="quiet"/>.</summary>
    internal static async Task WaitQuietAsync(OperatorProcess op, TimeSpan quiet, DateTime deadline, Func<bool> done, CancellationToken cancellationToken)
    {
        var lastWrites = -1L;
        var quietSince = DateTime.UtcNow;
        while (DateTime.UtcNow - quietSince < quiet || !done())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the operator did not settle");
            var now = await op.WritesAsync(cancellationToken);
            if (now != lastWrites) { lastWrites = now; quietSince = DateTime.UtcNow; }
            await Task.Delay(200, cancellationToken);
        }
    }

    internal static UserSession Session(string ns, int i) => new()
    {
        Metadata = new V1ObjectMeta { Name = $"user{i:D5}", NamespaceProperty = ns },
        Spec = new UserSessionSpec { FacilityRef = FacilityName, User = new SessionUser { Name = $"user{i:D5}", Groups = ["/cms"] } },
    };

    private static async Task ForEachAsync(int count, int workers, Func<int, Task> action, CancellationToken cancellationToken)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, Math.Max(1, workers)).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                cancellationToken.ThrowIfCancellationRequested();
                await action(i);
            }
        }, cancellationToken)));
    }

    internal static async Task<string> CreateNamespaceAsync(KubernetesApi api, string name, CancellationToken cancellationToken)
    {
        var ns = new V1Namespace { ApiVersion = "v1", Kind = "Namespace", Metadata = new V1ObjectMeta { Name = name } };
        await api.CreateAsync(api.Types.For<V1Namespace>(), ApiJson.ToNode(ns), cancellationToken);
        return name;
    }

    /// <summary>A facility with a store mapping for every tenth user and its issuer key Secret (as the facility controller writes it).</summary>
    internal static async Task<FacilityResource> CreateFacilityAsync(KubernetesApi api, string ns, CancellationToken cancellationToken)
    {
        var desired = new FacilityResource
        {
            Metadata = new V1ObjectMeta { Name = FacilityName, NamespaceProperty = ns },
            Spec = new AnalysisFacilitySpec
            {
                Tokens = new TokenIssuerSpec { Issuer = "https://issuer.bench.example/af", Audiences = ["https://xcache.bench.example"] },
                UserStore = new UserStoreSpec
                {
                    Enabled = true,
                    Users = Enumerable.Range(0, 100).Select(i => new StoreUserMapping { User = $"user{i * 10:D5}", StoreName = $"store{i * 10}" }).ToList(),
                },
                // HTCondor on, as in the samples: every session becomes an identity in the schedd's map.
                HTCondor = new HTCondorSpec { Enabled = true },
            },
        };
        var created = await api.CreateAsync(api.Types.For<FacilityResource>(), ApiJson.ToNode(desired), cancellationToken);
        var facility = api.Decode<FacilityResource>(created);
        var settings = IssuerSettings.FromSpec(facility.Spec.Tokens, facility.Metadata.Uid).ValueOrThrow();
        var ring = KeyRing.Empty.Rotate(DateTimeOffset.UtcNow.AddMinutes(-5), settings.Rotation).Ring;
        var secret = new V1Secret
        {
            ApiVersion = "v1", Kind = "Secret", Type = "Opaque",
            Metadata = new V1ObjectMeta
            {
                Name = FacilitySecrets.IssuerKeysSecretName(FacilityName), NamespaceProperty = ns,
                Labels = Labels.For("analysisfacility", FacilityName, "tokens", FacilityName),
            },
            Data = KeyRingSecret.ToSecretData(ring),
        };
        Applier.SetControllerReference(secret, facility);
        await api.CreateAsync(api.Types.For<V1Secret>(), ApiJson.ToNode(secret), cancellationToken);
        return facility;
    }
}
