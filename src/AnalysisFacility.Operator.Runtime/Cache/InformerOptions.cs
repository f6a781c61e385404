namespace AnalysisFacility.Operator.Runtime.Cache;

/// <summary>Options of one informer.</summary>
public sealed record InformerOptions
{
    /// <summary>Namespaces to watch; empty watches all namespaces (or the cluster for cluster-scoped kinds).</summary>
    public IReadOnlyList<string> Namespaces { get; init; } = [];
    /// <summary>Only objects matching this selector are cached (cache only what you own).</summary>
    public string? LabelSelector { get; init; }
    /// <summary>Every handler sees every cached object again this often (level-triggered safety net).</summary>
    public TimeSpan ResyncPeriod { get; init; } = TimeSpan.FromMinutes(10);
    public int PageSize { get; init; } = 500;
    /// <summary>Server-side watch timeout; the actual value is jittered so watches do not reconnect in lockstep.</summary>
    public TimeSpan WatchTimeout { get; init; } = TimeSpan.FromMinutes(5);
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>
    /// Decodes objects for the cache (skips metadata.managedFields, as controller-runtime's TransformStripManagedFields
    /// does, and shares recurring strings). Share one between the informers of a process; null makes one per informer.
    /// </summary>
    public CacheDecoder? Decoder { get; init; }
    /// <summary>Records which reconcile wrote what this informer caches from writes (see <see cref="WriteOrigins"/>); null records nothing.</summary>
    public WriteOrigins? Origins { get; init; }
    /// <summary>A field not kept for the objects it selects (a digest of it is kept instead); null keeps every field.</summary>
    public OmittedField? Omit { get; init; }
}
