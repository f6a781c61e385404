namespace AnalysisFacility.LocalCluster.Node;

/// <summary>The kubelet's restart decisions: whether a container that ended starts again, and after what back-off.</summary>
public static class RestartPolicy
{
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(5);
    /// <summary>A container that ran this long without a crash starts its back-off from the beginning again.</summary>
    public static readonly TimeSpan BackoffReset = TimeSpan.FromMinutes(10);

    public static bool Restarts(string? policy, int exitCode, bool isInit) => (policy ?? "Always") switch
    {
        "Never" => false,
        // Init containers follow OnFailure under Always: one that succeeded is done.
        "OnFailure" => exitCode != 0,
        _ => !isInit || exitCode != 0,
    };

    /// <summary>Immediately after the first crash, then 10 s doubling to 5 minutes, as the kubelet's CrashLoopBackOff.</summary>
    public static TimeSpan Backoff(int restartsSoFar) =>
        restartsSoFar <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, 10 * Math.Pow(2, restartsSoFar - 1)));

    public static string TerminationReason(int exitCode) => exitCode == 0 ? "Completed" : "Error";
}
