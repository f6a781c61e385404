namespace AnalysisFacility.LocalCluster.Node;

/// <summary>A container's state as the kubelet reports it: waiting (with reason), running, or terminated.</summary>
public abstract record ContainerState
{
    public sealed record Waiting(string Reason, string Message) : ContainerState;
    public sealed record Running(DateTime StartedAt) : ContainerState;
    public sealed record Terminated(int ExitCode, string Reason, DateTime StartedAt, DateTime FinishedAt, string? Message = null) : ContainerState;
}

/// <summary>What the status of one container says, read by the pod status builder.</summary>
public sealed record ContainerReport(string Name, string Image, ContainerState State, ContainerState.Terminated? LastTermination, int RestartCount,
    bool Ready, bool Started);
