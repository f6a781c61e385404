using System.Runtime.CompilerServices;

namespace AnalysisFacility.Operator.Runtime.Cache;

/// <summary>
/// Remembers which reconcile wrote each version that an informer cached from a write of this process, so that the watch
/// event echoing that write does not wake the same reconcile again: it already went on with the API server's answer.
/// Every other controller still sees the event (a DaskCluster a session writes is news to the Dask controller); only the
/// writer skips it. One per process, shared by its informers (which record) and controllers (which enter and ask).
/// </summary>
public sealed class WriteOrigins
{
    private readonly AsyncLocal<Origin?> _current = new();
    // Keyed by the cached instance: the informer keeps the instance for the echo (same resourceVersion) and replaces it
    // for any other version, which drops the entry with it.
    private readonly ConditionalWeakTable<object, Origin> _origins = new();

    /// <summary>Marks the current async flow (a reconcile and everything it awaits) as <paramref name="controller"/>
    /// reconciling <paramref name="key"/>. Call it inside the async method that runs the reconcile: the mark ends with it.</summary>
    public void Enter(object controller, ObjectKey key) => _current.Value = new Origin(controller, key);

    /// <summary>Records that <paramref name="cached"/> was written by the reconcile running on this flow, if any.</summary>
    public void Record(object cached)
    {
        if (_current.Value is { } origin) _origins.AddOrUpdate(cached, origin);
    }

    /// <summary>True when <paramref name="cached"/> is the very version <paramref name="controller"/> wrote while reconciling <paramref name="key"/>.</summary>
    public bool WrittenBy(object cached, object controller, ObjectKey key) =>
        _origins.TryGetValue(cached, out var origin) && ReferenceEquals(origin.Controller, controller) && origin.Key == key;

    private sealed record Origin(object Controller, ObjectKey Key);
}
