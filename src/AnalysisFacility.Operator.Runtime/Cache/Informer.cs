using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Runtime.Client;
using k8s;
using k8s.Models;
using Serilog;

namespace AnalysisFacility.Operator.Runtime.Cache;

/// <summary>
/// List+watch informer with a shared in-memory cache. Lists with pagination, watches from the list's
/// resourceVersion with bookmarks, relists on 410 Gone (diffing against the cache so deletions missed while
/// disconnected are seen), reconnects with jittered backoff, and bounds every watch so a half-open connection
/// cannot hang it.
/// </summary>
public sealed class Informer<T> : IInformer where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly KubernetesApi _api;
    private readonly InformerOptions _options;
    private readonly CacheDecoder _decoder;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<ObjectKey, T> _cache = new();
    // The digest of the omitted field per decoded instance: dies with the instance when the cache replaces it.
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<T, string> _omittedDigests = new();
    private readonly System.Text.Json.Serialization.Metadata.JsonPropertyInfo? _omittedField;
    // Serialises the read-then-write of one key by the watch and by Upsert (reads of the cache take no lock).
    private readonly Lock _writeLock = new();
    // Outlives any request in flight (their deadline is a minute by default).
    private readonly Tombstones _tombstones = new(TimeSpan.FromMinutes(2));
    private readonly List<Action<InformerEventType, T>> _handlers = [];
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastContactTicks = DateTime.UtcNow.Ticks;
    private long _relists;
    private int _pendingNamespaces;

    public Informer(KubernetesApi api, ResourceType type, InformerOptions options, ILogger log)
    {
        _api = api;
        Type = type;
        _options = options;
        _decoder = options.Decoder ?? new CacheDecoder(api.Json);
        _log = log.ForContext("Informer", type.ToString());
        _pendingNamespaces = Math.Max(1, options.Namespaces.Count);
        _omittedField = options.Omit is { } omit ? FieldDigest.Accessor(typeof(T), omit.JsonName, api.Json) : null;
    }

    public ResourceType Type { get; }
    public Type ObjectType => typeof(T);
    public bool HasSynced => _synced.Task.IsCompleted;
    public Task Synced => _synced.Task;
    public DateTime LastContact => new(Interlocked.Read(ref _lastContactTicks), DateTimeKind.Utc);
    public int Count => _cache.Count;
    public long Relists => Interlocked.Read(ref _relists);
    public WriteOrigins? Origins => _options.Origins;
    public OmittedField? Omit => _options.Omit;

    public string? OmittedDigest(IKubernetesObject<V1ObjectMeta> cached) =>
        cached is T typed && _omittedDigests.TryGetValue(typed, out var digest) ? digest : null;

    /// <summary>Registers a handler; handlers must be fast and only enqueue work.</summary>
    public void AddHandler(Action<InformerEventType, T> handler)
    {
        lock (_handlers) _handlers.Add(handler);
    }

    public T? Get(ObjectKey key) => _cache.TryGetValue(key, out var value) ? value : null;
    IKubernetesObject<V1ObjectMeta>? IInformer.Get(ObjectKey key) => Get(key);

    public IReadOnlyList<T> List(string? @namespace = null) =>
        _cache.Values.Where(o => @namespace is null || o.Metadata.NamespaceProperty == @namespace).ToList();

    public T? Upsert(ReadOnlySpan<byte> live, string? writtenOver)
    {
        var obj = Prepare(_decoder.Decode<T>(live));
        var key = ObjectKey.Of(obj);
        // A write that changed nothing answers with the version it was based on, which someone else wrote.
        var ours = obj.Metadata.ResourceVersion != writtenOver;
        lock (_writeLock)
        {
            // Answered before a deletion this informer has already seen: the object is gone.
            if (_tombstones.Predates(key, obj.Metadata.ResourceVersion)) return null;
            _tombstones.Forget(key);
            // An older answer than what the watch delivered since is dropped; the watch event of this very version, when
            // it came first, keeps its instance.
            var (placement, stored) = Place(key, obj);
            if (placement == Placement.Older) return null;
            if (ours) _options.Origins?.Record(stored);
            return stored;
        }
    }

    private enum Placement { Added, Replaced, SameVersion, Older }

    /// <summary>
    /// Puts <paramref name="obj"/> in the cache unless the cache holds that very version (its instance is kept) or a newer
    /// one (the cache never goes back). Returns what happened and the instance now cached. Call under the write lock.
    /// </summary>
    private (Placement, T Cached) Place(ObjectKey key, T obj)
    {
        if (!_cache.TryGetValue(key, out var cached))
        {
            _cache[key] = obj;
            return (Placement.Added, obj);
        }
        if (cached.Metadata.ResourceVersion == obj.Metadata.ResourceVersion) return (Placement.SameVersion, cached);
        if (IsNewer(cached.Metadata.ResourceVersion, obj.Metadata.ResourceVersion)) return (Placement.Older, cached);
        _cache[key] = obj;
        return (Placement.Replaced, obj);
    }

    /// <summary>
    /// Puts a watched version in the cache and says what to tell the handlers. Serialised with <see cref="Upsert"/>: the
    /// answer to a write and its watch event race for the same key, and whichever comes second keeps the first's instance
    /// (so the origin recorded for the write is on the instance the handlers see).
    /// </summary>
    private (InformerEventType Type, T Object) CacheWatched(ObjectKey key, string? rv, System.Text.Json.JsonElement json)
    {
        lock (_writeLock)
        {
            // The echo of a write this process made and cached already: same version, nothing to decode.
            if (rv is not null && _cache.TryGetValue(key, out var echoed) && echoed.Metadata.ResourceVersion == rv) return (InformerEventType.Modified, echoed);
        }
        var decoded = Decode(json);
        lock (_writeLock)
        {
            _tombstones.Forget(key);
            return Place(key, decoded) switch
            {
                (Placement.Added, var added) => (InformerEventType.Added, added),
                // An older version than one this process wrote since: the cache keeps the newer one, but handlers still
                // hear of it (it may carry someone else's change that the writer did not see).
                (Placement.Older, _) => (InformerEventType.Modified, decoded),
                (_, var cached) => (InformerEventType.Modified, cached),
            };
        }
    }

    IKubernetesObject<V1ObjectMeta>? IInformer.Upsert(ReadOnlySpan<byte> live, string? writtenOver) => Upsert(live, writtenOver);

    // resourceVersions are opaque, but etcd's are integers; compare them only when both are.
    private static bool IsNewer(string? a, string? b) =>
        long.TryParse(a, out var x) && long.TryParse(b, out var y) && x > y;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var namespaces = _options.Namespaces.Count == 0 || !Type.Namespaced ? [null] : _options.Namespaces.Cast<string?>().ToList();
        _pendingNamespaces = namespaces.Count;
        var loops = namespaces.Select(ns => Task.Run(() => ListAndWatchLoopAsync(ns, cancellationToken), cancellationToken)).ToList();
        var resync = Task.Run(() => ResyncLoopAsync(cancellationToken), cancellationToken);
        try
        {
            await Task.WhenAll(loops.Append(resync));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // shutting down
        }
    }

    private async Task ListAndWatchLoopAsync(string? @namespace, CancellationToken cancellationToken)
    {
        var resourceVersion = "";
        var failures = 0;
        var firstList = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (resourceVersion.Length == 0)
                {
                    resourceVersion = await RelistAsync(@namespace, cancellationToken);
                    if (firstList)
                    {
                        firstList = false;
                        if (Interlocked.Decrement(ref _pendingNamespaces) == 0) _synced.TrySetResult();
                    }
                }
                resourceVersion = await WatchAsync(@namespace, resourceVersion, cancellationToken);
                failures = 0;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (KubernetesApiException e) when (e.IsGone)
            {
                // Our resourceVersion is older than etcd's compaction window: start again from a fresh list.
                _log.Information("Watch resourceVersion expired, relisting");
                resourceVersion = "";
            }
            catch (Exception e)
            {
                failures++;
                var delay = Backoff(failures);
                _log.Warning("List/watch of {Resource} failed ({Error}); retrying in {DelayMs} ms", Type.ToString(), e.Message, (int)delay.TotalMilliseconds);
                // After repeated failures relist: the server may have restarted with other resource versions.
                if (failures >= 3) resourceVersion = "";
                try
                {
                    await Task.Delay(delay, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task<string> RelistAsync(string? @namespace, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _relists);
        var seen = new HashSet<ObjectKey>();
        string? continueToken = null;
        string resourceVersion;
        do
        {
            var page = await _api.ListAsync(Type, @namespace, _options.LabelSelector, _options.PageSize, continueToken, cancellationToken);
            Touch();
            foreach (var item in page.Items)
            {
                var obj = Decode(item);
                var key = ObjectKey.Of(obj);
                seen.Add(key);
                var previous = Get(key);
                _cache[key] = obj;
                if (previous is null) Dispatch(InformerEventType.Added, obj);
                else if (previous.Metadata.ResourceVersion != obj.Metadata.ResourceVersion) Dispatch(InformerEventType.Modified, obj);
            }
            resourceVersion = page.ResourceVersion;
            continueToken = page.Continue;
        }
        while (continueToken is not null);

        // Objects deleted while we were not watching.
        foreach (var (key, obj) in _cache.Where(e => @namespace is null || e.Key.Namespace == @namespace).ToList())
        {
            if (!seen.Contains(key) && _cache.TryRemove(key, out _)) Dispatch(InformerEventType.Deleted, obj);
        }
        _log.Debug("Listed {Count} objects at resourceVersion {ResourceVersion}", seen.Count, resourceVersion);
        return resourceVersion;
    }

    private async Task<string> WatchAsync(string? @namespace, string resourceVersion, CancellationToken cancellationToken)
    {
        var timeoutSeconds = (int)(_options.WatchTimeout.TotalSeconds * (0.8 + 0.4 * Random.Shared.NextDouble()));
        using var watchdog = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // The server closes the watch after timeoutSeconds; if it does not (half-open connection), we do.
        watchdog.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds + 30));
        try
        {
            await foreach (var watchEvent in _api.WatchAsync(Type, @namespace, _options.LabelSelector, resourceVersion, timeoutSeconds, watchdog.Token))
            {
                Touch();
                var rv = watchEvent.ResourceVersion;
                if (watchEvent.Type == "BOOKMARK")
                {
                    if (rv is not null) resourceVersion = rv;
                    continue;
                }
                var key = new ObjectKey(watchEvent.MetadataString("namespace"), watchEvent.MetadataString("name") ?? "");
                switch (watchEvent.Type)
                {
                    case "ADDED":
                    case "MODIFIED":
                        var (type, current) = CacheWatched(key, rv, watchEvent.Object);
                        Dispatch(type, current);
                        break;
                    case "DELETED":
                        var deleted = Decode(watchEvent.Object);
                        lock (_writeLock)
                        {
                            _cache.TryRemove(key, out _);
                            _tombstones.Bury(key, rv, DateTime.UtcNow);
                        }
                        Dispatch(InformerEventType.Deleted, deleted);
                        break;
                }
                if (rv is not null) resourceVersion = rv;
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            _log.Information("Watch idle past its deadline; reconnecting");
        }
        catch (HttpRequestException e) when (!cancellationToken.IsCancellationRequested)
        {
            // Dropped connection: resume from the last resourceVersion we saw.
            _log.Information("Watch connection dropped ({Error}); resuming", e.Message);
            await Task.Delay(Backoff(1), cancellationToken);
        }
        catch (IOException e) when (!cancellationToken.IsCancellationRequested)
        {
            _log.Information("Watch stream ended ({Error}); resuming", e.Message);
            await Task.Delay(Backoff(1), cancellationToken);
        }
        return resourceVersion;
    }

    private async Task ResyncLoopAsync(CancellationToken cancellationToken)
    {
        if (_options.ResyncPeriod <= TimeSpan.Zero) return;
        try
        {
            await _synced.Task.WaitAsync(cancellationToken);
            using var timer = new PeriodicTimer(_options.ResyncPeriod);
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                foreach (var obj in _cache.Values) Dispatch(InformerEventType.Resync, obj);
            }
        }
        catch (OperationCanceledException)
        {
            // shutting down
        }
    }

    private void Dispatch(InformerEventType type, T obj)
    {
        Action<InformerEventType, T>[] handlers;
        lock (_handlers) handlers = [.. _handlers];
        foreach (var handler in handlers)
        {
            try
            {
                handler(type, obj);
            }
            catch (Exception e)
            {
                _log.Error(e, "Informer handler failed for {Key}", ObjectKey.Of(obj).ToString());
            }
        }
    }

    private T Decode(JsonObject json) => Prepare(_decoder.Decode<T>(json));

    private T Decode(System.Text.Json.JsonElement json) => Prepare(_decoder.Decode<T>(json));

    private T Prepare(T obj)
    {
        // List items carry no apiVersion/kind; cached objects always do (the applier and owner references need them).
        obj.ApiVersion ??= Type.ApiVersion;
        obj.Kind ??= Type.Kind;
        // A field reconciles do not need (a token): the decoded value is dropped before the object is cached or handed on.
        if (_omittedField is { } field && _options.Omit!.AppliesTo(obj.Metadata) && field.Get!(obj) is { } value)
        {
            _omittedDigests.AddOrUpdate(obj, FieldDigest.Of(value, field, _api.Json)!);
            field.Set!(obj, null);
        }
        return obj;
    }

    private void Touch() => Interlocked.Exchange(ref _lastContactTicks, DateTime.UtcNow.Ticks);

    private TimeSpan Backoff(int failures)
    {
        var baseMs = Math.Min(_options.MaxBackoff.TotalMilliseconds, 200 * Math.Pow(2, Math.Min(failures, 10)));
        return TimeSpan.FromMilliseconds(baseMs * (0.5 + Random.Shared.NextDouble() / 2));
    }
}
