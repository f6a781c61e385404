using System.Collections.Concurrent;

namespace AnalysisFacility.Operator.Runtime.Queue;

/// <summary>Per-item exponential backoff: base * 2^failures, capped (client-go: 5 ms doubling to 1000 s).</summary>
public sealed class ExponentialFailureRateLimiter<T>(TimeSpan baseDelay, TimeSpan maxDelay) : IRateLimiter<T> where T : notnull
{
    private readonly ConcurrentDictionary<T, int> _failures = new();

    public TimeSpan When(T item)
    {
        var failures = _failures.AddOrUpdate(item, 1, (_, n) => n + 1) - 1;
        var delay = baseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failures, 40));
        return delay >= maxDelay.TotalMilliseconds ? maxDelay : TimeSpan.FromMilliseconds(delay);
    }

    public void Forget(T item) => _failures.TryRemove(item, out _);
    public int Failures(T item) => _failures.TryGetValue(item, out var n) ? n : 0;
}
