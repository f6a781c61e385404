using System.Collections.Concurrent;

namespace AnalysisFacility.Operator.Tokens.Grants;

/// <summary>
/// Slows down secret guessing: after <see cref="MaximumFailures"/> failed client authentications within
/// <see cref="Window"/> for one key (a client id, or a remote address), further attempts for that key are refused until
/// the window has passed. One instance per process; its state is per-instance, not static.
/// </summary>
public sealed class FailedAuthenticationLimiter(int maximumFailures = 5, TimeSpan? window = null, TimeProvider? time = null)
{
    private readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _failures = new(StringComparer.Ordinal);
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public int MaximumFailures { get; } = maximumFailures;
    public TimeSpan Window { get; } = window ?? TimeSpan.FromMinutes(1);

    /// <summary>How long <paramref name="key"/> must wait, or null when it may try now.</summary>
    public TimeSpan? RetryAfter(string key)
    {
        if (!_failures.TryGetValue(key, out var queue)) return null;
        lock (queue)
        {
            var now = _time.GetUtcNow();
            while (queue.Count > 0 && now - queue.Peek() >= Window) queue.Dequeue();
            return queue.Count >= MaximumFailures ? queue.Peek() + Window - now : null;
        }
    }

    public void RecordFailure(string key)
    {
        var queue = _failures.GetOrAdd(key, _ => new Queue<DateTimeOffset>());
        lock (queue)
        {
            queue.Enqueue(_time.GetUtcNow());
            while (queue.Count > MaximumFailures) queue.Dequeue();
        }
    }
}
