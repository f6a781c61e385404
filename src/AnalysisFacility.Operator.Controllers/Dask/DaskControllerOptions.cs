using AnalysisFacility.Operator.Api.V1Alpha1;

namespace AnalysisFacility.Operator.Controllers.Dask;

/// <summary>Knobs of the DaskCluster controller that the command line does not set (tests point the scaler at a local scheduler).</summary>
public sealed record DaskControllerOptions
{
    /// <summary>Base URL of a cluster's scheduler HTTP API (…/api/v1); default: the scheduler Service's DNS name in-cluster.</summary>
    public Func<DaskCluster, Uri>? SchedulerApi { get; init; }
    /// <summary>Timeout of one call to a scheduler: an unresponsive scheduler must not hold a reconcile worker for long.</summary>
    public TimeSpan SchedulerTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Consecutive low adaptive targets before workers are retired (dask's Adaptive wait_count).</summary>
    public int ScaleDownAfter { get; init; } = 3;
    /// <summary>How soon to look again when something the cluster needs (facility, CA, token) is missing.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(15);
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
