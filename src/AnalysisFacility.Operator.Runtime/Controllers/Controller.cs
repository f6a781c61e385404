using System.Diagnostics;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Runtime.Metrics;
using AnalysisFacility.Operator.Runtime.Queue;
using k8s;
using k8s.Models;
using Serilog;

namespace AnalysisFacility.Operator.Runtime.Controllers;

/// <summary>Non-generic view of a controller for the manager.</summary>
public interface IController
{
    string Name { get; }
    int QueueDepth { get; }
    Task RunAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Drives one reconciler: informer events (of the primary kind, of owned children and of related kinds) only enqueue
/// keys; workers take keys from a rate-limited queue, read the cached object and reconcile it. A key is never
/// reconciled by two workers at once; failures retry with per-key exponential backoff; finalizers are added and
/// removed by patch with optimistic concurrency.
/// </summary>
public sealed class Controller<T> : IController where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly Informer<T> _primary;
    private readonly IReconciler<T> _reconciler;
    private readonly IFinalizer<T>? _finalizer;
    private readonly KubernetesApi _api;
    private readonly OperatorMetrics _metrics;
    private readonly ILogger _log;
    private readonly WorkQueue<ObjectKey> _queue;
    private readonly int _workers;
    // Keys being reconciled, with the objects of the events that came in meanwhile and may be echoes of its writes.
    private readonly Dictionary<ObjectKey, List<object>> _inFlight = [];

    public Controller(string name, Informer<T> primary, IReconciler<T> reconciler, KubernetesApi api, OperatorMetrics metrics,
        ILogger log, int workers = 4, IFinalizer<T>? finalizer = null, IRateLimiter<ObjectKey>? rateLimiter = null)
    {
        Name = name;
        _primary = primary;
        _reconciler = reconciler;
        _finalizer = finalizer;
        _api = api;
        _metrics = metrics;
        _log = log.ForContext("Controller", name);
        _workers = Math.Max(1, workers);
        _queue = new WorkQueue<ObjectKey>(rateLimiter ?? RateLimiters.Default<ObjectKey>(TimeProvider.System));
        primary.AddHandler((type, obj) =>
        {
            var key = ObjectKey.Of(obj);
            if (!IsEchoOfOwnWrite(type, obj, key)) Enqueue(key);
        });
    }

    public string Name { get; }
    public int QueueDepth => _queue.Depth;

    /// <summary>Reconcile the owner when an object it controls (owner reference with controller=true) changes.</summary>
    public Controller<T> Owns<TChild>(Informer<TChild> children) where TChild : class, IKubernetesObject<V1ObjectMeta>
    {
        var kind = _primary.Type.Kind;
        var apiVersion = _primary.Type.ApiVersion;
        children.AddHandler((type, child) =>
        {
            foreach (var owner in child.Metadata.OwnerReferences ?? [])
            {
                if (owner.Controller == true && owner.Kind == kind && owner.ApiVersion == apiVersion)
                {
                    var key = new ObjectKey(child.Metadata.NamespaceProperty, owner.Name);
                    if (!IsEchoOfOwnWrite(type, child, key)) Enqueue(key);
                }
            }
        });
        return this;
    }

    /// <summary>
    /// Reconcile the keys <paramref name="map"/> returns when an object of another kind changes. With
    /// <paramref name="coalesce"/>, a key is reconciled once that long after the first of a burst of changes instead of
    /// once per change: for a reconcile whose cost grows with the number of related objects (a facility and its sessions).
    /// </summary>
    public Controller<T> Watches<TOther>(Informer<TOther> others, Func<TOther, IEnumerable<ObjectKey>> map, TimeSpan? coalesce = null)
        where TOther : class, IKubernetesObject<V1ObjectMeta> =>
        Watches(others, (_, other) => map(other), coalesce);

    /// <summary>As above, with the kind of event, for a map that only cares about some (e.g. deletions).</summary>
    public Controller<T> Watches<TOther>(Informer<TOther> others, Func<InformerEventType, TOther, IEnumerable<ObjectKey>> map, TimeSpan? coalesce = null)
        where TOther : class, IKubernetesObject<V1ObjectMeta>
    {
        others.AddHandler((type, other) =>
        {
            foreach (var key in map(type, other))
            {
                if (coalesce is { } delay) EnqueueAfter(key, delay);
                else Enqueue(key);
            }
        });
        return this;
    }

    /// <summary>
    /// True for the watch event of a version that this controller's reconcile of <paramref name="key"/> wrote itself: that
    /// reconcile went on with the API server's answer, so the echo would only reconcile the key once more for nothing.
    /// While the key is being reconciled the answer may not be in yet (the event can come first): such events wait for
    /// the reconcile to end, which enqueues the key again unless every one of them turned out to be its own write.
    /// Resyncs and deletions are never skipped.
    /// </summary>
    private bool IsEchoOfOwnWrite(InformerEventType type, object cached, ObjectKey key)
    {
        if (type is not (InformerEventType.Added or InformerEventType.Modified) || _primary.Origins is not { } origins) return false;
        if (origins.WrittenBy(cached, this, key)) return true;
        lock (_inFlight)
        {
            if (!_inFlight.TryGetValue(key, out var seen)) return false;
            seen.Add(cached);
            return true;
        }
    }

    private void BeginReconcile(ObjectKey key)
    {
        if (_primary.Origins is not { } origins) return;
        origins.Enter(this, key);
        lock (_inFlight) _inFlight[key] = [];
    }

    private void EndReconcile(ObjectKey key)
    {
        if (_primary.Origins is not { } origins) return;
        List<object>? seen;
        lock (_inFlight) _inFlight.Remove(key, out seen);
        if (seen?.Any(obj => !origins.WrittenBy(obj, this, key)) == true) Enqueue(key);
    }

    public void Enqueue(ObjectKey key)
    {
        _queue.Add(key);
        _metrics.QueueDepth.WithLabels(Name).Set(_queue.Depth);
    }

    public void EnqueueAfter(ObjectKey key, TimeSpan delay) => _queue.AddAfter(key, delay);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await _primary.Synced.WaitAsync(cancellationToken);
        // Keys queued while not leading are still here; requeue everything so nothing is missed after a takeover.
        foreach (var obj in _primary.List()) Enqueue(ObjectKey.Of(obj));
        var workers = Enumerable.Range(0, _workers).Select(_ => Task.Run(() => WorkerAsync(cancellationToken), CancellationToken.None));
        await Task.WhenAll(workers);
    }

    private async Task WorkerAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            ObjectKey key;
            try
            {
                key = await _queue.GetAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            try
            {
                await ProcessAsync(key, cancellationToken);
            }
            finally
            {
                _queue.Done(key);
                _metrics.QueueDepth.WithLabels(Name).Set(_queue.Depth);
            }
        }
    }

    private async Task ProcessAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        BeginReconcile(key);
        try
        {
            await ReconcileKeyAsync(key, cancellationToken);
        }
        finally
        {
            EndReconcile(key);
        }
    }

    private async Task ReconcileKeyAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        var resource = _primary.Get(key);
        if (resource is null)
        {
            _queue.Forget(key); // deleted: garbage collection removes what it owned
            return;
        }
        var stopwatch = Stopwatch.StartNew();
        var outcome = "success";
        try
        {
            var result = await ReconcileOrFinalizeAsync(resource, cancellationToken);
            _queue.Forget(key);
            if (result.RequeueAfter is { } delay)
            {
                _queue.AddAfter(key, delay);
                outcome = "requeue";
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            outcome = "cancelled";
        }
        catch (KubernetesApiException e) when (e.IsConflict)
        {
            // Someone wrote the object since we read it: not an error, just look again with the newer version.
            outcome = "conflict";
            _log.Debug("Conflict on {Key}, retrying", key.ToString());
            _queue.AddRateLimited(key);
        }
        catch (Exception e)
        {
            outcome = "error";
            _metrics.ReconcileErrors.WithLabels(Name).Inc();
            _metrics.QueueRetries.WithLabels(Name).Inc();
            _log.Warning("Reconcile of {Key} failed (attempt {Attempt}): {Error}", key.ToString(), _queue.NumRequeues(key) + 1, e.Message);
            _log.Debug(e, "Reconcile failure detail");
            _queue.AddRateLimited(key);
        }
        finally
        {
            _metrics.Reconciles.WithLabels(Name, outcome).Inc();
            _metrics.ReconcileDuration.WithLabels(Name).Observe(stopwatch.Elapsed.TotalSeconds);
        }
    }

    private async Task<ReconcileResult> ReconcileOrFinalizeAsync(T resource, CancellationToken cancellationToken)
    {
        if (_finalizer is null) return await _reconciler.ReconcileAsync(resource, cancellationToken);

        var finalizers = resource.Metadata.Finalizers ?? [];
        var hasFinalizer = finalizers.Contains(_finalizer.Name);
        if (resource.Metadata.DeletionTimestamp is not null)
        {
            if (!hasFinalizer) return ReconcileResult.Done;
            var result = await _finalizer.FinalizeAsync(resource, cancellationToken);
            if (result.RequeueAfter is not null) return result;
            await SetFinalizersAsync(resource, finalizers.Where(f => f != _finalizer.Name).ToList(), cancellationToken);
            _log.Information("Finalized {Key}", ObjectKey.Of(resource).ToString());
            return ReconcileResult.Done;
        }
        if (!hasFinalizer)
        {
            resource = await SetFinalizersAsync(resource, [.. finalizers, _finalizer.Name], cancellationToken);
        }
        return await _reconciler.ReconcileAsync(resource, cancellationToken);
    }

    private async Task<T> SetFinalizersAsync(T resource, IList<string> finalizers, CancellationToken cancellationToken)
    {
        // resourceVersion in a merge patch makes it conditional: a concurrent change gives 409 and a retry.
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["finalizers"] = new JsonArray(finalizers.Select(f => (JsonNode)f).ToArray()),
                ["resourceVersion"] = resource.Metadata.ResourceVersion,
            },
        };
        var live = await _api.PatchUtf8Async(_primary.Type, resource.Metadata.NamespaceProperty, resource.Metadata.Name,
            patch.ToJsonString(), KubernetesApi.MergePatch, cancellationToken);
        _primary.Upsert(live, resource.Metadata.ResourceVersion);
        return _primary.Get(ObjectKey.Of(resource)) ?? resource;
    }
}
