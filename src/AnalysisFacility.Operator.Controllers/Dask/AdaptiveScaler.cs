namespace AnalysisFacility.Operator.Controllers.Dask;

/// <summary>What to do with the worker Deployment.</summary>
/// <param name="DesiredWorkers">Replicas to ask for, once <paramref name="WorkersToRetire"/> have been retired.</param>
/// <param name="WorkersToRetire">How many workers to retire through the scheduler first (0 when not shrinking).</param>
/// <param name="LowSteps">Consecutive steps the target has been below the current size; pass it back next step.</param>
/// <param name="Reason">Why, for an Event or log line.</param>
public sealed record ScalingDecision(int DesiredWorkers, int WorkersToRetire, int LowSteps, string Reason);

/// <summary>Pure adaptive-scaling arithmetic: the scheduler's wish bounded by the DaskCluster's minimum and maximum.</summary>
public static class AdaptiveScaler
{
    /// <summary>
    /// Bounds <paramref name="schedulerTarget"/> by minimum and maximum. Scale-up is immediate; scale-down only after the
    /// target has stayed low for <paramref name="scaleDownAfter"/> consecutive steps (as dask's own Adaptive wait_count),
    /// so a short dip between computations does not throw workers away. A size outside the bounds is corrected at once.
    /// </summary>
    public static ScalingDecision Decide(int schedulerTarget, int minimum, int maximum, int currentWorkers, int previousLowSteps = 0, int scaleDownAfter = 1)
    {
        if (minimum < 0) throw new ArgumentOutOfRangeException(nameof(minimum), minimum, "minimum must be 0 or more");
        if (maximum < minimum) throw new ArgumentOutOfRangeException(nameof(maximum), maximum, $"maximum must be at least minimum ({minimum})");
        if (currentWorkers < 0) throw new ArgumentOutOfRangeException(nameof(currentWorkers), currentWorkers, "current workers must be 0 or more");
        if (scaleDownAfter < 1) throw new ArgumentOutOfRangeException(nameof(scaleDownAfter), scaleDownAfter, "scale-down must wait at least 1 step");

        var target = Math.Max(0, schedulerTarget);
        var desired = Math.Clamp(target, minimum, maximum);
        var bound = desired != target ? (target > maximum ? $", capped at maximum {maximum}" : $", raised to minimum {minimum}") : "";
        var wants = $"scheduler wants {target} workers{bound}";
        if (desired > currentWorkers)
            return new ScalingDecision(desired, 0, 0, $"{wants}: scale up from {currentWorkers} to {desired}");
        if (desired == currentWorkers)
            return new ScalingDecision(desired, 0, 0, $"{wants}: keep {currentWorkers}");

        var lowSteps = previousLowSteps + 1;
        if (lowSteps < scaleDownAfter)
        {
            // Above a lowered maximum the excess goes now; the rest waits like any other dip.
            if (currentWorkers > maximum)
                return new ScalingDecision(maximum, currentWorkers - maximum, lowSteps, $"{wants}: retire {currentWorkers - maximum} of {currentWorkers} above the maximum");
            return new ScalingDecision(currentWorkers, 0, lowSteps, $"{wants}: keep {currentWorkers} until the target stays low for {scaleDownAfter} steps ({lowSteps} so far)");
        }
        return new ScalingDecision(desired, currentWorkers - desired, 0, $"{wants}: retire {currentWorkers - desired} of {currentWorkers}");
    }
}
