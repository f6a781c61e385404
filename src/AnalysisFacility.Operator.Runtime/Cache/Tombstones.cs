namespace AnalysisFacility.Operator.Runtime.Cache;

/// <summary>
/// Recent deletions an informer saw, with the resourceVersion of each deletion, so that the answer to a write which the
/// API server gave before the deletion (and which this process reads after the DELETED event) cannot put the deleted
/// object back into the cache. An entry only has to outlive a request in flight, so entries older than
/// <paramref name="keep"/> are dropped: memory does not grow with the number of objects ever deleted. Not thread-safe:
/// the informer calls it under its write lock.
/// </summary>
public sealed class Tombstones(TimeSpan keep)
{
    private readonly Dictionary<ObjectKey, (long ResourceVersion, DateTime At)> _deleted = [];
    private DateTime _lastPurge = DateTime.MinValue;

    public int Count => _deleted.Count;

    /// <summary>Records the deletion of <paramref name="key"/> at <paramref name="resourceVersion"/> (ignored when not an integer).</summary>
    public void Bury(ObjectKey key, string? resourceVersion, DateTime now)
    {
        if (now - _lastPurge > keep / 2)
        {
            foreach (var (old, entry) in _deleted.ToList())
            {
                if (now - entry.At > keep) _deleted.Remove(old);
            }
            _lastPurge = now;
        }
        if (long.TryParse(resourceVersion, out var version)) _deleted[key] = (version, now);
    }

    /// <summary>True when a version of <paramref name="key"/> at <paramref name="resourceVersion"/> predates its recorded deletion.</summary>
    public bool Predates(ObjectKey key, string? resourceVersion) =>
        _deleted.TryGetValue(key, out var entry) && long.TryParse(resourceVersion, out var version) && version <= entry.ResourceVersion;

    /// <summary>The key exists again (a newer version was seen): its deletion no longer matters.</summary>
    public void Forget(ObjectKey key) => _deleted.Remove(key);
}
