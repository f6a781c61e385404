using k8s.Models;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>A pod's status as a kubelet reports it, from what its containers are doing. Pure.</summary>
public static class PodStatusBuilder
{
    public static V1PodStatus Build(string phase, string podIp, string hostIp, DateTime startTime, bool initialized,
        IReadOnlyList<ContainerReport> init, IReadOnlyList<ContainerReport> containers, string? waitingMessage)
    {
        var ready = phase == "Running" && containers.Count > 0 && containers.All(c => c.Ready);
        var notReady = containers.Where(c => !c.Ready).Select(c => c.Name).ToList();
        V1PodCondition Condition(string type, bool value, string? reason = null, string? message = null) => new()
        {
            Type = type, Status = value ? "True" : "False", Reason = value ? null : reason, Message = value ? null : message,
            LastTransitionTime = startTime,
        };
        return new V1PodStatus
        {
            Phase = phase,
            PodIP = podIp,
            PodIPs = [new V1PodIP { Ip = podIp }],
            HostIP = hostIp,
            StartTime = startTime,
            Message = waitingMessage,
            Conditions =
            [
                Condition("Initialized", initialized, "ContainersNotInitialized", "containers with incomplete status: [" + string.Join(' ', init.Where(c => c.State is not ContainerState.Terminated { ExitCode: 0 }).Select(c => c.Name)) + "]"),
                Condition("Ready", ready, "ContainersNotReady", $"containers with unready status: [{string.Join(' ', notReady)}]"),
                Condition("ContainersReady", ready, "ContainersNotReady", $"containers with unready status: [{string.Join(' ', notReady)}]"),
                Condition("PodScheduled", true),
            ],
            InitContainerStatuses = init.Count == 0 ? null : init.Select(Status).ToList(),
            ContainerStatuses = containers.Select(Status).ToList(),
        };
    }

    private static V1ContainerStatus Status(ContainerReport report) => new()
    {
        Name = report.Name,
        Image = report.Image,
        ImageID = "",
        ContainerID = report.State is ContainerState.Waiting ? null : $"localnode://{report.Name}-{report.RestartCount}",
        Ready = report.Ready,
        Started = report.State is ContainerState.Running && report.Started,
        RestartCount = report.RestartCount,
        State = State(report.State),
        LastState = report.LastTermination is { } last && report.RestartCount > 0 ? State(last) : new V1ContainerState(),
    };

    private static V1ContainerState State(ContainerState state) => state switch
    {
        ContainerState.Waiting w => new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = w.Reason, Message = w.Message is { Length: > 0 } m ? m : null } },
        ContainerState.Running r => new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = r.StartedAt } },
        ContainerState.Terminated t => new V1ContainerState
        {
            Terminated = new V1ContainerStateTerminated { ExitCode = t.ExitCode, Reason = t.Reason, Message = t.Message, StartedAt = t.StartedAt, FinishedAt = t.FinishedAt },
        },
        _ => new V1ContainerState(),
    };
}
