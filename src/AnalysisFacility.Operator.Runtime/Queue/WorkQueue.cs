namespace AnalysisFacility.Operator.Runtime.Queue;

/// <summary>
/// A work queue with client-go semantics: an item is queued at most once however often it is added; an item
/// being processed is never handed to a second worker, and if it is added meanwhile it is queued again when the
/// first worker calls <see cref="Done"/>. Delayed and rate-limited adds wait in a timer heap.
/// </summary>
public sealed class WorkQueue<T> : IDisposable where T : notnull
{
    private readonly object _gate = new();
    private readonly Queue<T> _queue = new();
    private readonly HashSet<T> _dirty = [];
    private readonly HashSet<T> _processing = [];
    private readonly PriorityQueue<T, long> _waiting = new();
    private readonly Dictionary<T, long> _waitingUntil = new();
    private readonly SemaphoreSlim _itemsAvailable = new(0);
    private readonly SemaphoreSlim _waitingChanged = new(0);
    private readonly IRateLimiter<T> _rateLimiter;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Task _delayLoop;

    public WorkQueue(IRateLimiter<T> rateLimiter, TimeProvider? time = null)
    {
        _rateLimiter = rateLimiter;
        _time = time ?? TimeProvider.System;
        _delayLoop = Task.Run(DelayLoopAsync);
    }

    /// <summary>Items queued and not yet taken by a worker.</summary>
    public int Depth
    {
        get { lock (_gate) return _queue.Count; }
    }

    /// <summary>Items waiting for a delay or backoff to expire.</summary>
    public int Delayed
    {
        get { lock (_gate) return _waitingUntil.Count; }
    }

    public bool IsShuttingDown => _shutdown.IsCancellationRequested;

    public void Add(T item)
    {
        lock (_gate)
        {
            if (_shutdown.IsCancellationRequested || !_dirty.Add(item)) return;
            if (_processing.Contains(item)) return; // re-queued by Done()
            _queue.Enqueue(item);
        }
        _itemsAvailable.Release();
    }

    public void AddAfter(T item, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(item);
            return;
        }
        var readyAt = _time.GetUtcNow().UtcTicks + delay.Ticks;
        lock (_gate)
        {
            if (_shutdown.IsCancellationRequested) return;
            // Keep only the earliest deadline per item.
            if (_waitingUntil.TryGetValue(item, out var existing) && existing <= readyAt) return;
            _waitingUntil[item] = readyAt;
            _waiting.Enqueue(item, readyAt);
        }
        _waitingChanged.Release();
    }

    /// <summary>Re-adds a failed item after its backoff.</summary>
    public void AddRateLimited(T item) => AddAfter(item, _rateLimiter.When(item));

    /// <summary>Clears an item's failure history (call after a successful reconcile).</summary>
    public void Forget(T item) => _rateLimiter.Forget(item);

    public int NumRequeues(T item) => _rateLimiter.Failures(item);

    /// <summary>Takes the next item; the caller must call <see cref="Done"/> when finished with it.</summary>
    public async Task<T> GetAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _shutdown.Token);
        while (true)
        {
            await _itemsAvailable.WaitAsync(linked.Token);
            lock (_gate)
            {
                if (_queue.Count == 0) continue;
                var item = _queue.Dequeue();
                _processing.Add(item);
                _dirty.Remove(item);
                return item;
            }
        }
    }

    public void Done(T item)
    {
        var requeue = false;
        lock (_gate)
        {
            _processing.Remove(item);
            if (_dirty.Contains(item) && !_shutdown.IsCancellationRequested)
            {
                _queue.Enqueue(item);
                requeue = true;
            }
        }
        if (requeue) _itemsAvailable.Release();
    }

    public void ShutDown() => _shutdown.Cancel();

    private async Task DelayLoopAsync()
    {
        while (!_shutdown.IsCancellationRequested)
        {
            TimeSpan wait;
            var ready = new List<T>();
            lock (_gate)
            {
                var now = _time.GetUtcNow().UtcTicks;
                while (_waiting.TryPeek(out var item, out var readyAt) && readyAt <= now)
                {
                    _waiting.Dequeue();
                    // Skip stale heap entries superseded by an earlier deadline.
                    if (_waitingUntil.TryGetValue(item, out var current) && current == readyAt)
                    {
                        _waitingUntil.Remove(item);
                        ready.Add(item);
                    }
                }
                wait = _waiting.TryPeek(out _, out var next) ? TimeSpan.FromTicks(Math.Max(0, next - now)) : TimeSpan.FromSeconds(10);
            }
            foreach (var item in ready) Add(item);
            try
            {
                await _waitingChanged.WaitAsync(wait < TimeSpan.FromSeconds(10) ? wait : TimeSpan.FromSeconds(10), _shutdown.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public void Dispose()
    {
        ShutDown();
        try
        {
            _delayLoop.Wait(TimeSpan.FromSeconds(1));
        }
        catch (AggregateException)
        {
            // cancelled
        }
        _itemsAvailable.Dispose();
        _waitingChanged.Dispose();
        _shutdown.Dispose();
    }
}
