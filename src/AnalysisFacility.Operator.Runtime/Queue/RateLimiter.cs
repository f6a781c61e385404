using System.Collections.Concurrent;

namespace AnalysisFacility.Operator.Runtime.Queue;

/// <summary>Decides how long an item waits before it is retried.</summary>
public interface IRateLimiter<in T>
{
    TimeSpan When(T item);
    void Forget(T item);
    int Failures(T item);
}

public static class RateLimiters
{
    /// <summary>5 ms doubling to 1000 s per item, and 10 qps / 100 burst overall for retries.</summary>
    public static IRateLimiter<T> Default<T>(TimeProvider time) where T : notnull =>
        new MaxOfRateLimiter<T>(
            new ExponentialFailureRateLimiter<T>(TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(1000)),
            new TokenBucketRateLimiter<T>(10, 100, time));
}
