using k8s.Models;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>A probe's schedule and thresholds: when it is due, and whether it has passed or failed enough times in a row.</summary>
public sealed class ProbeTracker
{
    private readonly V1Probe? _probe;
    private DateTime _last = DateTime.MinValue;
    private int _successes;
    private int _failures;

    public ProbeTracker(V1Probe? probe) => _probe = probe;

    /// <summary>True when passing (successThreshold reached), false when failing (failureThreshold reached), null while undecided.</summary>
    public bool? Passing { get; private set; }

    public bool Due(DateTime now, TimeSpan sinceStart) =>
        _probe is not null && sinceStart >= TimeSpan.FromSeconds(_probe.InitialDelaySeconds ?? 0)
                           && now - _last >= TimeSpan.FromSeconds(_probe.PeriodSeconds ?? 10);

    public void Record(DateTime now, bool success)
    {
        _last = now;
        if (success)
        {
            _failures = 0;
            if (++_successes >= (_probe?.SuccessThreshold ?? 1)) Passing = true;
        }
        else
        {
            _successes = 0;
            if (++_failures >= (_probe?.FailureThreshold ?? 3)) Passing = false;
        }
    }
}
