namespace AnalysisFacility.Operator.Controllers.Dask;

/// <summary>What to do with the worker Deployment.</summary>
/// <param name="DesiredWorkers">Replicas to ask for, once <paramref name="WorkersToRetire"/> have been retired.</param>
/// <param name="WorkersToRetire">How many workers to retire through the scheduler first (0 when not shrinking).</param>
/// <param name="Reason">Why, for an Event or log line.</param>
public sealed record ScalingDecision(int DesiredWorkers, int WorkersToRetire, string Reason)
{
    public bool ScalesUp(int currentWorkers) => DesiredWorkers > currentWorkers;
}

/// <summary>Pure adaptive-scaling arithmetic: the scheduler's wish bounded by the DaskCluster's minimum and maximum.</summary>
public static class AdaptiveScaler
{
    public static ScalingDecision Decide(int schedulerTarget, int minimum, int maximum, int currentWorkers)
    {
        if (minimum < 0) throw new ArgumentOutOfRangeException(nameof(minimum), minimum, "minimum must be 0 or more");
        if (maximum < minimum) throw new ArgumentOutOfRangeException(nameof(maximum), maximum, $"maximum must be at least minimum ({minimum})");
        if (currentWorkers < 0) throw new ArgumentOutOfRangeException(nameof(currentWorkers), currentWorkers, "current workers must be 0 or more");

        var target = Math.Max(0, schedulerTarget);
        var desired = Math.Clamp(target, minimum, maximum);
        var bound = desired != target ? (target > maximum ? $", capped at maximum {maximum}" : $", raised to minimum {minimum}") : "";
        if (desired > currentWorkers)
            return new ScalingDecision(desired, 0, $"scheduler wants {target} workers{bound}: scale up from {currentWorkers} to {desired}");
        if (desired < currentWorkers)
            return new ScalingDecision(desired, currentWorkers - desired, $"scheduler wants {target} workers{bound}: retire {currentWorkers - desired} of {currentWorkers}");
        return new ScalingDecision(desired, 0, $"scheduler wants {target} workers{bound}: keep {currentWorkers}");
    }
}
