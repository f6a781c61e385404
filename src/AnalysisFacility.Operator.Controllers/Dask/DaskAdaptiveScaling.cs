namespace AnalysisFacility.Operator.Controllers.Dask;

/// <summary>The result of one adaptive step.</summary>
/// <param name="SchedulerTarget">What the scheduler asked for.</param>
/// <param name="DesiredWorkers">Replicas to set on the worker Deployment now.</param>
/// <param name="RetiredWorkers">Workers the scheduler retired (their names are pod names): delete exactly these pods,
/// or mark them with a low controller.kubernetes.io/pod-deletion-cost before lowering replicas, so the Deployment does not
/// remove a worker that still holds tasks.</param>
/// <param name="Reason">Why, for an Event or log line.</param>
public sealed record AdaptiveStep(int SchedulerTarget, int DesiredWorkers, IReadOnlyList<DaskWorkerInfo> RetiredWorkers, string Reason);

/// <summary>
/// One adaptive scaling step against a live scheduler: ask adaptive_target, bound it, and on scale-down retire workers
/// through the scheduler first. Only the workers actually retired are removed, so no task or result is lost.
/// </summary>
public sealed class DaskAdaptiveScaling(DaskSchedulerClient scheduler)
{
    public async Task<AdaptiveStep> StepAsync(Uri apiBase, int minimum, int maximum, int currentWorkers, CancellationToken cancellationToken)
    {
        var target = await scheduler.GetAdaptiveTargetAsync(apiBase, cancellationToken);
        var decision = AdaptiveScaler.Decide(target, minimum, maximum, currentWorkers);
        if (decision.WorkersToRetire == 0)
            return new AdaptiveStep(target, decision.DesiredWorkers, [], decision.Reason);

        var retired = await scheduler.RetireWorkersAsync(apiBase, decision.WorkersToRetire, cancellationToken);
        var desired = Math.Max(currentWorkers - retired.Count, minimum);
        var reason = retired.Count == decision.WorkersToRetire
            ? decision.Reason
            : $"{decision.Reason}; the scheduler retired only {retired.Count}, so replicas go to {desired}";
        return new AdaptiveStep(target, desired, retired, reason);
    }
}
