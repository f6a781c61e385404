using AnalysisFacility.Operator.Controllers.Facility;
using System.Diagnostics;
using System.Net;
using AnalysisFacility.Operator.Api;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.Sessions;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.Operator.Controllers.Sessions;
using AnalysisFacility.Operator.Dev;
using AnalysisFacility.Operator.Hosting;
using AnalysisFacility.Operator.Runtime.Apply;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Tokens.Issuance;
using AnalysisFacility.Operator.Tokens.Keys;
using k8s;
using k8s.Models;
using ILogger = Serilog.ILogger;
using AF = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Benchmarks;

public sealed record SessionBenchmarkOptions(int Count, int Workers, TimeSpan SteadyWindow, TimeSpan Timeout);

public sealed record SessionBenchmarkResult(int Count, int Workers, TimeSpan OperatorTime, TimeSpan FloorTime, long OperatorWrites,
    long SteadyWrites, TimeSpan SteadyWindow, long PeakWorkingSet, long BaselineWorkingSet, int ObjectsPerSession)
{
    public double Ratio => OperatorTime / FloorTime;
    public double WritesPerSession => (double)OperatorWrites / Count;

    public override string ToString() => string.Join(Environment.NewLine,
        $"sessions:                       {Count} (workers: {Workers})",
        $"operator, until all objects:    {OperatorTime.TotalSeconds:F1} s",
        $"floor, same objects directly:   {FloorTime.TotalSeconds:F1} s ({ObjectsPerSession} objects per session, same client and concurrency)",
        $"ratio operator / floor:         {Ratio:F2}",
        $"API writes per session:         {WritesPerSession:F2} (operator total {OperatorWrites})",
        $"writes in steady state:         {SteadyWrites} in {SteadyWindow.TotalSeconds:F0} s",
        $"peak working set:               {PeakWorkingSet / (1024.0 * 1024):F0} MiB (process before the operator started: {BaselineWorkingSet / (1024.0 * 1024):F0} MiB)");
}

/// <summary>
/// Provisions UserSessions against a local control plane (etcd + kube-apiserver) with the operator in-process, then
/// creates the same objects directly with the same client and concurrency as the floor. Not a test: run from the CLI.
/// </summary>
public static class SessionBenchmark
{
    private const string FacilityName = "bench-af";

    public static async Task<SessionBenchmarkResult> RunAsync(SessionBenchmarkOptions options, ILogger log, CancellationToken cancellationToken)
    {
        Console.Error.WriteLine("starting local control plane ...");
        await using var plane = await LocalControlPlane.StartAsync(cancellationToken, withControllerManager: false);
        using var api = new KubernetesApi(plane.AdminConfiguration());
        await CrdInstaller.InstallAsync(api, ApiTypes.All, cancellationToken);

        // Operator phase.
        var ns = await CreateNamespaceAsync(api, "bench-operator", cancellationToken);
        var facility = await CreateFacilityAsync(api, ns, cancellationToken);
        GC.Collect();
        var baseline = Process.GetCurrentProcess().WorkingSet64;
        var hostOptions = new OperatorHostOptions
        {
            Settings = new OperatorSettings { Namespaces = [ns], OperatorNamespace = ns, Workers = options.Workers },
            ListenAddress = IPAddress.Loopback, HttpPort = 0, IssuerPort = 0,
        };
        await using var host = new OperatorHost(plane.AdminConfiguration(), hostOptions, log);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var run = Task.Run(() => host.RunAsync(stop.Token), CancellationToken.None);
        while (!host.Manager.IsReady) await Task.Delay(50, cancellationToken);

        long peak = 0;
        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sampler = Task.Run(async () =>
        {
            using var process = Process.GetCurrentProcess();
            while (!sampling.IsCancellationRequested)
            {
                process.Refresh();
                peak = Math.Max(peak, process.WorkingSet64);
                try { await Task.Delay(100, sampling.Token); } catch (OperationCanceledException) { }
            }
        }, CancellationToken.None);

        var pods = host.Manager.Informer<V1Pod>(OperatorSettings.ManagedSelector);
        var writesBefore = host.Api.Calls.Writes;
        Console.Error.WriteLine($"operator phase: creating {options.Count} UserSessions ...");
        var clock = Stopwatch.StartNew();
        await ForEachAsync(options.Count, options.Workers, i =>
            api.CreateAsync(api.Types.For<UserSession>(), Applier.ToJson(Session(ns, i)), cancellationToken), cancellationToken);
        var deadline = DateTime.UtcNow + options.Timeout;
        while (pods.List(ns).Count < options.Count)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"only {pods.List(ns).Count} of {options.Count} sessions have their pod after {options.Timeout}");
            await Task.Delay(20, cancellationToken);
        }
        var operatorTime = clock.Elapsed;
        Console.Error.WriteLine($"all objects after {operatorTime.TotalSeconds:F1} s; waiting for the operator to settle ...");

        // Settled: every status written and no write for 3 s; then count writes over the window.
        var sessions = host.Manager.Informer<UserSession>();
        var lastWrites = -1L;
        var quietSince = DateTime.UtcNow;
        while (DateTime.UtcNow - quietSince < TimeSpan.FromSeconds(3)
               || sessions.List(ns).Any(s => s.Status?.Conditions?.Any(c => c.Type == SessionConditions.TokenIssued && c.Status == "True") != true))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the operator did not settle");
            var now = host.Api.Calls.Writes;
            if (now != lastWrites) { lastWrites = now; quietSince = DateTime.UtcNow; }
            await Task.Delay(100, cancellationToken);
        }
        var operatorWrites = host.Api.Calls.Writes - writesBefore;
        var steadyStart = host.Api.Calls.Writes;
        await Task.Delay(options.SteadyWindow, cancellationToken);
        var steadyWrites = host.Api.Calls.Writes - steadyStart;
        await sampling.CancelAsync();
        await sampler;
        await stop.CancelAsync();
        await run;

        // Floor: the same objects, applied directly with the same client and concurrency.
        var floorNs = await CreateNamespaceAsync(api, "bench-floor", cancellationToken);
        var floorFacility = await CreateFacilityAsync(api, floorNs, cancellationToken);
        var settings = IssuerSettings.FromSpec(floorFacility.Spec.Tokens, floorFacility.Metadata.Uid).ValueOrThrow();
        var ring = KeyRing.Empty.Rotate(DateTimeOffset.UtcNow, settings.Rotation).Ring;
        var objectsPerSession = 0;
        Console.Error.WriteLine($"floor phase: applying the same objects for {options.Count} sessions directly ...");
        clock.Restart();
        await ForEachAsync(options.Count, options.Workers, async i =>
        {
            // The session must exist to own its objects, as in the operator phase (created by the same client).
            var created = await api.CreateAsync(api.Types.For<UserSession>(), Applier.ToJson(Session(floorNs, i)), cancellationToken);
            var session = KubernetesJson.Deserialize<UserSession>(created.ToJsonString());
            var plan = SessionPlanning.Plan(session, floorFacility, null);
            var token = TokenMinter.Mint(settings, ring, SessionPlanning.TokenRequestFor(session, plan.TokenStoreName), DateTimeOffset.UtcNow).ValueOrThrow();
            var objects = new List<IKubernetesObject<V1ObjectMeta>> { SessionPlanning.TokenSecret(session, floorFacility, token, "floor") };
            objects.AddRange(plan.Build.Objects!.All());
            objectsPerSession = objects.Count;
            foreach (var obj in objects)
            {
                await api.ApplyAsync(api.Types.ForKind(obj.ApiVersion, obj.Kind), Applier.ToJson(obj), Applier.DefaultFieldManager, force: true, cancellationToken);
            }
        }, cancellationToken);
        var floorTime = clock.Elapsed;
        _ = facility;
        return new SessionBenchmarkResult(options.Count, options.Workers, operatorTime, floorTime, operatorWrites, steadyWrites,
            options.SteadyWindow, peak, baseline, objectsPerSession);
    }

    private static UserSession Session(string ns, int i) => new()
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

    private static async Task<string> CreateNamespaceAsync(KubernetesApi api, string name, CancellationToken cancellationToken)
    {
        var ns = new V1Namespace { ApiVersion = "v1", Kind = "Namespace", Metadata = new V1ObjectMeta { Name = name } };
        await api.CreateAsync(api.Types.For<V1Namespace>(), Applier.ToJson(ns), cancellationToken);
        return name;
    }

    /// <summary>A facility with a store mapping for every tenth user and its issuer key Secret (as the facility controller writes it).</summary>
    private static async Task<AF> CreateFacilityAsync(KubernetesApi api, string ns, CancellationToken cancellationToken)
    {
        var desired = new AF
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
                HTCondor = new HTCondorSpec { Enabled = false },
            },
        };
        var created = await api.CreateAsync(api.Types.For<AF>(), Applier.ToJson(desired), cancellationToken);
        var facility = KubernetesJson.Deserialize<AF>(created.ToJsonString());
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
        await api.CreateAsync(api.Types.For<V1Secret>(), Applier.ToJson(secret), cancellationToken);
        return facility;
    }
}
