using AnalysisFacility.Operator.Runtime.Apply;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Runtime.Controllers;
using AnalysisFacility.Operator.Runtime.Events;
using AnalysisFacility.Operator.Runtime.Leader;
using AnalysisFacility.Operator.Runtime.Metrics;
using AnalysisFacility.Operator.Runtime.Status;
using k8s;
using k8s.Models;
using Serilog;

namespace AnalysisFacility.Operator.Runtime.Hosting;

public sealed record ManagerOptions
{
    /// <summary>Namespaces to watch; empty means all.</summary>
    public IReadOnlyList<string> Namespaces { get; init; } = [];
    /// <summary>Leader election; null runs the controllers unconditionally (single replica, tests).</summary>
    public LeaderElectionOptions? LeaderElection { get; init; }
    public TimeSpan ResyncPeriod { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>An informer that has heard nothing from the API server for this long makes /healthz fail.</summary>
    public TimeSpan StaleWatchThreshold { get; init; } = TimeSpan.FromMinutes(7);
    /// <summary>How the Applier recognises objects that are not its own (never written); null writes any object of the name.</summary>
    public ClaimRules? Claims { get; init; }
}

/// <summary>
/// Owns the shared pieces of one operator process: API client, informers, metrics, applier, status writer, event
/// recorder and controllers. Caches run on every replica (so a standby takes over with a warm cache); controllers
/// run only while this replica leads.
/// </summary>
public sealed class OperatorManager
{
    private readonly List<IController> _controllers = [];
    private readonly ManagerOptions _options;
    private readonly ILogger _log;
    private LeaderElector? _elector;
    // One for all informers, so a string shared across kinds (labels, names) is held once.
    private readonly CacheDecoder _decoder;
    private readonly WriteOrigins _origins = new();
    private readonly Dictionary<Type, OmittedField> _omissions = [];

    public OperatorManager(KubernetesApi api, ManagerOptions options, ILogger log)
    {
        Api = api;
        _decoder = new CacheDecoder(api.Json);
        _options = options;
        _log = log;
        Metrics = new OperatorMetrics();
        Caches = new CacheRegistry();
        Applier = new Applier(api, Caches, Metrics, log) { Claims = options.Claims };
        Status = new StatusWriter(api, Caches);
        Events = new EventRecorder(api, log);
        api.Calls.CallMade += (verb, _) =>
        {
            if (verb is not "GET" and not "HEAD") Metrics.ApiWrites.WithLabels(verb).Inc();
        };
    }

    public KubernetesApi Api { get; }
    public OperatorMetrics Metrics { get; }
    public CacheRegistry Caches { get; }
    public Applier Applier { get; }
    public StatusWriter Status { get; }
    public EventRecorder Events { get; }
    public IReadOnlyList<IController> Controllers => _controllers;
    public bool IsLeader => _options.LeaderElection is null || (_elector?.IsLeader ?? false);

    /// <summary>Caches are synced: the operator can serve (readiness).</summary>
    public bool IsReady => Caches.All.Any() && Caches.AllSynced;

    /// <summary>No informer has gone silent (liveness).</summary>
    public bool IsHealthy => Caches.All.All(i => !i.HasSynced || DateTime.UtcNow - i.LastContact < _options.StaleWatchThreshold);

    /// <summary>
    /// The shared informer of <typeparamref name="T"/> will not keep <paramref name="field"/> (see <see cref="OmittedField"/>).
    /// Call before any controller asks for that informer.
    /// </summary>
    public void OmitFromCache<T>(OmittedField field) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        if (Caches.Find(Api.Types.For<T>()) is not null) throw new InvalidOperationException($"the informer of {typeof(T).Name} exists already");
        _omissions[typeof(T)] = field;
    }

    /// <summary>The shared informer for <typeparamref name="T"/>, created on first use with the given selector.</summary>
    public Informer<T> Informer<T>(string? labelSelector = null) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var type = Api.Types.For<T>();
        if (Caches.Find(type) is Informer<T> existing) return existing;
        var informer = new Informer<T>(Api, type, new InformerOptions
        {
            Namespaces = _options.Namespaces, LabelSelector = labelSelector, ResyncPeriod = _options.ResyncPeriod, Decoder = _decoder, Origins = _origins,
            Omit = _omissions.GetValueOrDefault(typeof(T)),
        }, _log);
        Caches.Add(informer);
        return informer;
    }

    public void Add(IController controller) => _controllers.Add(controller);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var informers = Caches.All.Select(i => Task.Run(() => i.RunAsync(cancellationToken), CancellationToken.None)).ToList();
        var gauges = Task.Run(() => UpdateGaugesAsync(cancellationToken), CancellationToken.None);
        try
        {
            while (!Caches.AllSynced) await Task.Delay(50, cancellationToken);
            _log.Information("Caches synced: {Counts}", string.Join(", ", Caches.All.Select(i => $"{i.Type.Plural}={i.Count}")));
            if (_options.LeaderElection is { } election)
            {
                _elector = new LeaderElector(Api, election, Metrics, _log);
                await _elector.RunAsync(RunControllersAsync, cancellationToken);
            }
            else
            {
                await RunControllersAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // graceful stop
        }
        await Task.WhenAll(informers.Append(gauges));
        _log.Information("Operator stopped");
    }

    private Task RunControllersAsync(CancellationToken cancellationToken)
    {
        _log.Information("Starting controllers: {Controllers}", string.Join(", ", _controllers.Select(c => c.Name)));
        return Task.WhenAll(_controllers.Select(c => Task.Run(() => c.RunAsync(cancellationToken), CancellationToken.None)));
    }

    private async Task UpdateGaugesAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5));
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                foreach (var informer in Caches.All) Metrics.CachedObjects.WithLabels(informer.Type.ToString()).Set(informer.Count);
            }
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }
}
