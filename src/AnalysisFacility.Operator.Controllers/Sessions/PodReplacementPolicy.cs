using AnalysisFacility.Operator.Builders.Sessions;
using AnalysisFacility.Operator.Runtime.Apply;
using k8s.Models;

namespace AnalysisFacility.Operator.Controllers.Sessions;

public enum PodAction
{
    /// <summary>No pod yet: create it.</summary>
    Create,
    /// <summary>The pod is as desired (an apply makes no call unless it was edited by hand).</summary>
    Keep,
    /// <summary>Delete the pod; the next reconcile creates the new one.</summary>
    Replace,
    /// <summary>Leave the running server alone; the change applies when it next starts (ServerUpToDate=False says so).</summary>
    Defer,
    /// <summary>The pod is being deleted: its deletion event brings the session back.</summary>
    AwaitDeletion,
}

/// <summary>What to do with the notebook pod, and why: the reason is the Event's and the message is what the user reads.</summary>
public sealed record PodDecision(PodAction Action, string Reason, string? Message = null);

/// <summary>
/// Pods are immutable, so a changed specification means a new pod. Who changed it decides when: a change of the session
/// itself (profile, image, resources, store) replaces the pod now, as its owner asked; a change that comes from the
/// facility (an admin's edit of defaults or services) never kills a running or stopped server: it waits and applies when
/// the server next starts. A pod that has not started yet is simply replaced.
/// </summary>
public static class PodReplacementPolicy
{
    public const string NoPod = "NoPod";
    public const string UpToDate = "UpToDate";
    public const string Terminating = "PodTerminating";
    public const string SessionChanged = "SessionChanged";
    public const string FacilityChanged = "FacilityChanged";
    public const string ChangedBeforeStart = "ChangedBeforeStart";

    /// <param name="live">The pod in the cache, if any.</param>
    /// <param name="desiredHash">The applied-hash the desired pod gets (<see cref="Applier.Hash(k8s.IKubernetesObject{V1ObjectMeta}, k8s.IKubernetesObject{V1ObjectMeta}, System.Text.Json.JsonSerializerOptions)"/>).</param>
    /// <param name="desiredSessionHash">The desired pod's <see cref="SessionBuilder.SessionSpecHashAnnotation"/>.</param>
    public static PodDecision Decide(V1Pod? live, string desiredHash, string? desiredSessionHash)
    {
        if (live is null) return new(PodAction.Create, NoPod);
        if (live.Metadata.DeletionTimestamp is not null) return new(PodAction.AwaitDeletion, Terminating);
        if (Annotation(live, Applier.HashAnnotation) == desiredHash) return new(PodAction.Keep, UpToDate);
        if (Annotation(live, SessionBuilder.SessionSpecHashAnnotation) != desiredSessionHash)
        {
            return new(PodAction.Replace, SessionChanged, "The session's specification changed; the notebook pod is replaced.");
        }
        return live.Status?.Phase is "Running" or "Succeeded"
            ? new(PodAction.Defer, FacilityChanged, "The facility changed the notebook server's configuration; it applies when the server next starts.")
            : new(PodAction.Replace, ChangedBeforeStart, "The notebook pod's specification changed before it started; the pod is replaced.");
    }

    private static string? Annotation(V1Pod pod, string name) =>
        pod.Metadata.Annotations?.TryGetValue(name, out var value) == true ? value : null;
}
