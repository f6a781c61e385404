using AnalysisFacility.Operator.Builders.Sessions;
using AnalysisFacility.Operator.Controllers.Sessions;
using AnalysisFacility.Operator.Runtime.Apply;
using k8s.Models;

namespace AnalysisFacility.Operator.Tests.SessionController;

public class PodReplacementPolicyTests
{
    private static V1Pod Live(string hash, string sessionHash, string? phase, bool deleting = false) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = "jupyter-alice", Uid = "pod-uid", DeletionTimestamp = deleting ? DateTime.UtcNow : null,
            Annotations = new Dictionary<string, string> { [Applier.HashAnnotation] = hash, [SessionBuilder.SessionSpecHashAnnotation] = sessionHash },
        },
        Status = phase is null ? null : new V1PodStatus { Phase = phase },
    };

    // live applied hash, live session hash, phase, deleting -> action, reason (desired: hash "h2", session hash "s1")
    [Theory]
    [InlineData(null, null, null, false, PodAction.Create, PodReplacementPolicy.NoPod)]
    [InlineData("h1", "s1", "Running", true, PodAction.AwaitDeletion, PodReplacementPolicy.Terminating)]
    [InlineData("h2", "s1", "Running", false, PodAction.Keep, PodReplacementPolicy.UpToDate)]
    [InlineData("h1", "s0", "Running", false, PodAction.Replace, PodReplacementPolicy.SessionChanged)]
    [InlineData("h1", "s0", "Pending", false, PodAction.Replace, PodReplacementPolicy.SessionChanged)]
    [InlineData("h1", "s1", "Running", false, PodAction.Defer, PodReplacementPolicy.FacilityChanged)]
    [InlineData("h1", "s1", "Succeeded", false, PodAction.Defer, PodReplacementPolicy.FacilityChanged)]
    [InlineData("h1", "s1", "Pending", false, PodAction.Replace, PodReplacementPolicy.ChangedBeforeStart)]
    [InlineData("h1", "s1", null, false, PodAction.Replace, PodReplacementPolicy.ChangedBeforeStart)]
    public void The_pod_is_replaced_only_when_its_owner_asked_or_it_has_not_started(string? hash, string? sessionHash, string? phase, bool deleting,
        PodAction action, string reason)
    {
        var live = hash is null ? null : Live(hash, sessionHash!, phase, deleting);
        var decision = PodReplacementPolicy.Decide(live, "h2", "s1");
        decision.Action.Should().Be(action);
        decision.Reason.Should().Be(reason);
        if (action is PodAction.Replace or PodAction.Defer) decision.Message.Should().NotBeNullOrEmpty("the Event or ServerUpToDate says why");
    }
}
