using AnalysisFacility.Operator.Api.V1Alpha1;
using k8s.Models;

namespace AnalysisFacility.Operator.Builders.Sessions;

/// <summary>What the controller observed about a session's objects.</summary>
public sealed record SessionObservation
{
    /// <summary>metadata.generation of the session.</summary>
    public long Generation { get; init; }
    /// <summary>Errors that stopped the objects from being built (from <see cref="SessionBuildResult.Errors"/>).</summary>
    public IReadOnlyList<string> Errors { get; init; } = [];
    /// <summary>Whether the user's token Secret exists with a token in it.</summary>
    public bool TokenSecretPresent { get; init; }
    public DateTime? TokenIssuedAt { get; init; }
    public DateTime? TokenExpiresAt { get; init; }
    /// <summary>The notebook pod as last seen (null when it does not exist yet).</summary>
    public V1Pod? Pod { get; init; }
    /// <summary>The store directory the pod mounts (null Enabled=false when the facility has no store).</summary>
    public SessionStorePlacement? Store { get; init; }
    public string? DaskSchedulerAddress { get; init; }
    /// <summary>The bounds of the session's Dask cluster (null without one); a cap by the facility is reported.</summary>
    public SessionDaskLimits? DaskLimits { get; init; }
    /// <summary>
    /// Why the running server does not have the current configuration (a facility change that waits for the next
    /// start rather than killing a running notebook); null when it does.
    /// </summary>
    public string? RestartPending { get; init; }
    /// <summary>Informational conditions of the facility's services for this user (e.g. RucioConfigured); never block Ready.</summary>
    public IReadOnlyList<ServiceCondition> Services { get; init; } = [];
}

/// <summary>One informational condition of a service the session is configured for.</summary>
public sealed record ServiceCondition(string Type, bool Status, string Reason, string Message);

/// <summary>Condition types and phases of a UserSession.</summary>
public static class SessionConditions
{
    public const string TokenIssued = "TokenIssued";
    public const string StorageMounted = "StorageMounted";
    public const string ServerReady = "ServerReady";
    public const string ServerUpToDate = "ServerUpToDate";
    /// <summary>Informational: False when the facility capped the session's Dask maximum (the session stays usable).</summary>
    public const string DaskLimits = "DaskLimits";
    public const string Ready = "Ready";

    public const string PhasePending = "Pending";
    public const string PhaseProgressing = "Progressing";
    public const string PhaseReady = "Ready";
    public const string PhaseFailed = "Failed";

    /// <summary>
    /// The status a session should have given what was observed. Pure: <paramref name="now"/> is only used as
    /// the transition time of conditions whose status changed; unchanged ones keep their previous time, so an
    /// unchanged world yields an identical status (no needless writes).
    /// </summary>
    public static UserSessionStatus Derive(SessionObservation observation, UserSessionStatus? previous, DateTime now)
    {
        var prior = previous?.Conditions ?? [];
        var conditions = new List<Condition>();
        var pod = observation.Pod;

        Condition Make(string type, bool? status, string reason, string message)
        {
            var text = status switch { true => "True", false => "False", null => "Unknown" };
            var old = prior.FirstOrDefault(c => c.Type == type);
            var since = old is not null && old.Status == text ? old.LastTransitionTime : now;
            var condition = new Condition
            {
                Type = type, Status = text, Reason = reason, Message = message,
                LastTransitionTime = since, ObservedGeneration = observation.Generation,
            };
            conditions.Add(condition);
            return condition;
        }

        var token = observation.TokenSecretPresent
            ? Make(TokenIssued, true, "TokenIssued", observation.TokenExpiresAt is { } expiry
                ? $"Token valid until {expiry.ToUniversalTime():yyyy-MM-ddTHH:mm:ssZ}." : "Token issued.")
            : Make(TokenIssued, false, "WaitingForToken", "The user's token has not been issued yet.");

        var store = observation.Store;
        var started = pod is not null && (pod.Status?.Phase is "Running" or "Succeeded"
            || pod.Status?.ContainerStatuses?.Any(s => s.State?.Running is not null) == true);
        var storage = store is null || !store.Enabled
            ? Make(StorageMounted, true, "NoUserStore", "The facility has no user store.")
            : started
                ? Make(StorageMounted, true, store.ReadOnly ? "MountedReadOnly" : "Mounted",
                    store.ReadOnly
                        ? $"No store directory for this user: '{store.Directory}' is mounted read-only."
                        : $"Store directory '{store.Directory}' is mounted.")
                : Make(StorageMounted, false, "WaitingForPod", "The store is mounted when the notebook pod starts.");

        var podReady = pod?.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;
        var failedPod = pod?.Status?.Phase == "Failed";
        var server = pod is null
            ? Make(ServerReady, false, "PodNotCreated", "The notebook pod has not been created yet.")
            : failedPod
                ? Make(ServerReady, false, "PodFailed", $"The notebook pod failed: {pod.Status?.Reason ?? "no reason given"} {pod.Status?.Message}".TrimEnd())
                : pod.Status?.Phase == "Succeeded"
                    ? Make(ServerReady, false, "ServerStopped", "The notebook server exited.")
                    : podReady
                        ? Make(ServerReady, true, "ServerReady", "The notebook server accepts connections.")
                        : Make(ServerReady, false, WaitingReason(pod), WaitingMessage(pod));

        // Informational: a pending configuration never makes a working session unready.
        if (observation.RestartPending is { } pending) Make(ServerUpToDate, false, "RestartPending", pending);
        else Make(ServerUpToDate, true, "UpToDate", "The notebook pod has the current configuration.");
        if (observation.DaskLimits is { } limits)
        {
            if (limits.CapMessage is { } capped) Make(DaskLimits, false, "CappedByFacility", capped);
            else Make(DaskLimits, true, "WithinLimits", $"The session's Dask cluster scales between {limits.Minimum} and {limits.Maximum} workers.");
        }

        foreach (var service in observation.Services) Make(service.Type, service.Status, service.Reason, service.Message);

        string phase;
        // No "Terminating": a session has no finalizer, so a deleted one is gone and never reconciled again.
        if (observation.Errors.Count > 0)
        {
            Make(Ready, false, "InvalidSpec", string.Join(" ", observation.Errors));
            phase = PhaseFailed;
        }
        else if (failedPod)
        {
            Make(Ready, false, "PodFailed", server.Message ?? "The notebook pod failed.");
            phase = PhaseFailed;
        }
        else if (token.Status == "True" && storage.Status == "True" && server.Status == "True")
        {
            Make(Ready, true, "SessionReady", "The notebook server is ready.");
            phase = PhaseReady;
        }
        else
        {
            var waiting = new[] { token, storage, server }.First(c => c.Status != "True");
            Make(Ready, false, waiting.Reason ?? "Waiting", waiting.Message ?? "");
            phase = pod is null && !observation.TokenSecretPresent ? PhasePending : PhaseProgressing;
        }

        var podIp = pod?.Status?.PodIP;
        return new UserSessionStatus
        {
            ObservedGeneration = observation.Generation,
            Phase = phase,
            Conditions = conditions,
            PodName = pod?.Metadata?.Name,
            // The hub proxies to the pod directly (as KubeSpawner does); the Service exists for in-cluster tools.
            ServerUrl = phase == PhaseReady && !string.IsNullOrEmpty(podIp) ? ServerUrlFor(podIp) : null,
            TokenIssuedAt = observation.TokenIssuedAt,
            TokenExpiresAt = observation.TokenExpiresAt,
            StoreName = store is { Enabled: true } ? store.Directory : null,
            StoreReadOnly = store is { Enabled: true } ? store.ReadOnly : null,
            DaskSchedulerAddress = observation.DaskSchedulerAddress,
        };
    }

    /// <summary>URL of the notebook server at a pod address (IPv6 addresses in brackets).</summary>
    public static string ServerUrlFor(string podIp) =>
        podIp.Contains(':') ? $"http://[{podIp}]:{SessionBuilder.NotebookPort}" : $"http://{podIp}:{SessionBuilder.NotebookPort}";

    private static string WaitingReason(V1Pod pod)
    {
        var waiting = pod.Status?.ContainerStatuses?.Select(s => s.State?.Waiting).FirstOrDefault(w => w is not null);
        if (waiting?.Reason is { Length: > 0 } reason) return reason; // e.g. ImagePullBackOff, CreateContainerConfigError
        var scheduled = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled");
        if (scheduled?.Status == "False") return "Unschedulable";
        return pod.Status?.Phase == "Running" ? "ServerStarting" : "PodPending";
    }

    private static string WaitingMessage(V1Pod pod)
    {
        var waiting = pod.Status?.ContainerStatuses?.Select(s => s.State?.Waiting).FirstOrDefault(w => w is not null);
        if (waiting?.Message is { Length: > 0 } message) return message;
        var scheduled = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled");
        if (scheduled?.Status == "False") return $"The notebook pod cannot be scheduled: {scheduled.Message}";
        return pod.Status?.Phase == "Running" ? "The notebook server is starting." : "Waiting for the notebook pod to start.";
    }
}
