using System.Collections.Concurrent;

namespace AnalysisFacility.Operator.Runtime.Queue;

/// <summary>Decides how long an item waits before it is retried.</summary>
public interface IRateLimiter<in T>
{
    TimeSpan When(T item);
    void Forget(T item);
    int Failures(T item);
}

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

/// <summary>An overall token bucket (qps with burst) shared by all items, so a storm of failures cannot flood the API server.</summary>
public sealed class TokenBucketRateLimiter<T>(double qps, int burst, TimeProvider time) : IRateLimiter<T>
{
    private readonly object _gate = new();
    private double _tokens = burst;
    private long _lastTimestamp = time.GetTimestamp();

    public TimeSpan When(T item)
    {
        lock (_gate)
        {
            var now = time.GetTimestamp();
            _tokens = Math.Min(burst, _tokens + time.GetElapsedTime(_lastTimestamp, now).TotalSeconds * qps);
            _lastTimestamp = now;
            _tokens -= 1; // reserve a token; a negative balance is the wait
            return _tokens >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(-_tokens / qps);
        }
    }

    public void Forget(T item) { }
    public int Failures(T item) => 0;
}

/// <summary>The longest wait of several limiters (client-go's default controller rate limiter).</summary>
public sealed class MaxOfRateLimiter<T>(params IRateLimiter<T>[] limiters) : IRateLimiter<T>
{
    public TimeSpan When(T item) => limiters.Select(l => l.When(item)).Max();
    public void Forget(T item)
    {
        foreach (var limiter in limiters) limiter.Forget(item);
    }
    public int Failures(T item) => limiters.Max(l => l.Failures(item));
}

public static class RateLimiters
{
    /// <summary>5 ms doubling to 1000 s per item, and 10 qps / 100 burst overall for retries.</summary>
    public static IRateLimiter<T> Default<T>(TimeProvider time) where T : notnull =>
        new MaxOfRateLimiter<T>(
            new ExponentialFailureRateLimiter<T>(TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(1000)),
            new TokenBucketRateLimiter<T>(10, 100, time));
}
