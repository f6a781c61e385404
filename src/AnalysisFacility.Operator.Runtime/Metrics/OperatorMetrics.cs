using Prometheus;

namespace AnalysisFacility.Operator.Runtime.Metrics;

/// <summary>
/// Prometheus metrics of one operator instance, in a registry of its own (no process-wide static state,
/// so two operators in one test process do not mix their counts).
/// </summary>
public sealed class OperatorMetrics
{
    public OperatorMetrics()
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        Reconciles = factory.CreateCounter("analysisfacility_reconcile_total", "Reconciles by controller and result.",
            new CounterConfiguration { LabelNames = ["controller", "result"] });
        ReconcileErrors = factory.CreateCounter("analysisfacility_reconcile_errors_total", "Reconciles that failed, by controller.",
            new CounterConfiguration { LabelNames = ["controller"] });
        ReconcileDuration = factory.CreateHistogram("analysisfacility_reconcile_duration_seconds", "Time spent in one reconcile.",
            new HistogramConfiguration { LabelNames = ["controller"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });
        QueueDepth = factory.CreateGauge("analysisfacility_workqueue_depth", "Keys waiting in the work queue.",
            new GaugeConfiguration { LabelNames = ["controller"] });
        QueueRetries = factory.CreateCounter("analysisfacility_workqueue_retries_total", "Keys re-queued after a failure.",
            new CounterConfiguration { LabelNames = ["controller"] });
        ApiWrites = factory.CreateCounter("analysisfacility_api_writes_total", "Write calls (POST, PUT, PATCH, DELETE) made to the API server.",
            new CounterConfiguration { LabelNames = ["verb"] });
        AppliesSkipped = factory.CreateCounter("analysisfacility_apply_skipped_total", "Applies skipped because the cached object already matched.",
            new CounterConfiguration { LabelNames = ["kind"] });
        CachedObjects = factory.CreateGauge("analysisfacility_cache_objects", "Objects held in informer caches.",
            new GaugeConfiguration { LabelNames = ["resource"] });
        IsLeader = factory.CreateGauge("analysisfacility_leader", "1 while this instance holds the leader lease.");
    }

    public CollectorRegistry Registry { get; }
    public Counter Reconciles { get; }
    public Counter ReconcileErrors { get; }
    public Histogram ReconcileDuration { get; }
    public Gauge QueueDepth { get; }
    public Counter QueueRetries { get; }
    public Counter ApiWrites { get; }
    public Counter AppliesSkipped { get; }
    public Gauge CachedObjects { get; }
    public Gauge IsLeader { get; }

    /// <summary>The metrics in Prometheus text format.</summary>
    public async Task<string> ExportAsync(CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream();
        await Registry.CollectAndExportAsTextAsync(stream, cancellationToken);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
