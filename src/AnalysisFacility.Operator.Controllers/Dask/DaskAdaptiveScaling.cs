using System.Collections.Concurrent;

namespace AnalysisFacility.Operator.Controllers.Dask;

/// <summary>The result of one adaptive step.</summary>
/// <param name="SchedulerTarget">What the scheduler asked for.</param>
/// <param name="DesiredWorkers">Replicas to set on the worker Deployment now.</param>
/// <param name="RetiredWorkers">Workers the scheduler retired (their names are pod names): delete exactly these pods,
/// or mark them with a low controller.kubernetes.io/pod-deletion-cost before lowering replicas, so the Deployment does not
/// remove a worker that still holds results. A retired worker's nanny restarts it, so remove the pods promptly.</param>
/// <param name="Reason">Why, for an Event or log line.</param>
public sealed record AdaptiveStep(int SchedulerTarget, int DesiredWorkers, IReadOnlyList<DaskWorkerInfo> RetiredWorkers, string Reason);

/// <summary>
/// One adaptive scaling step against a live scheduler: ask adaptive_target, bound it, and on scale-down retire workers
/// through the scheduler first. Only the workers actually retired are removed, so no task or result is lost.
/// Keep one instance for the controller's lifetime: it remembers, per cluster, how long the target has been low.
/// </summary>
public sealed class DaskAdaptiveScaling(DaskSchedulerClient scheduler, int scaleDownAfter = 3)
{
    private readonly ConcurrentDictionary<string, int> _lowSteps = new();

    /// <param name="clusterKey">Identifies the DaskCluster (e.g. namespace/name or its UID).</param>
    public async Task<AdaptiveStep> StepAsync(string clusterKey, Uri apiBase, int minimum, int maximum, int currentWorkers, CancellationToken cancellationToken)
    {
        var target = await scheduler.GetAdaptiveTargetAsync(apiBase, cancellationToken);
        var decision = AdaptiveScaler.Decide(target, minimum, maximum, currentWorkers, _lowSteps.GetValueOrDefault(clusterKey), scaleDownAfter);
        _lowSteps[clusterKey] = decision.LowSteps;
        if (decision.WorkersToRetire == 0)
            return new AdaptiveStep(target, decision.DesiredWorkers, [], decision.Reason);

        var retired = await scheduler.RetireWorkersAsync(apiBase, decision.WorkersToRetire, cancellationToken);
        var desired = currentWorkers - retired.Count;
        var reason = retired.Count == decision.WorkersToRetire
            ? decision.Reason
            : $"{decision.Reason}; the scheduler retired only {retired.Count} (the others hold data it could not move), so replicas go to {desired}";
        return new AdaptiveStep(target, desired, retired, reason);
    }

    /// <summary>Drops what is remembered about a deleted cluster.</summary>
    public void Forget(string clusterKey) => _lowSteps.TryRemove(clusterKey, out _);
}
