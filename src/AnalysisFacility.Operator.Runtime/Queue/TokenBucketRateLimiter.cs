namespace AnalysisFacility.Operator.Runtime.Queue;

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
