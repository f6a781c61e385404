using AnalysisFacility.Operator.Controllers.Facility;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Facility;
using AnalysisFacility.Operator.Builders.Sessions;
using AnalysisFacility.Operator.Runtime.Apply;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Controllers;
using AnalysisFacility.Operator.Runtime.Events;
using AnalysisFacility.Operator.Runtime.Hosting;
using AnalysisFacility.Operator.Tokens.Issuance;
using AnalysisFacility.Operator.Tokens.Keys;
using AnalysisFacility.Operator.Tokens.Refresh;
using k8s;
using k8s.Models;
using Serilog;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Controllers.Sessions;

/// <summary>
/// Brings one session in line with its spec: token Secret (minted only when needed), the builder's objects, the
/// session's DaskCluster, status from what is observed, and culling. Every read comes from the caches, so a
/// session in steady state costs no API call.
/// </summary>
internal sealed class UserSessionReconciler(OperatorManager manager, Informer<FacilityResource> facilities, SessionChildren children,
    TimeProvider clock, ILogger log) : IReconciler<UserSession>
{
    private readonly KeyRingCache _rings = new();
    private readonly SessionExperimentTokens _experimentTokens = new(manager, children.Secrets, new IdentityProviderClients(), clock, log);

    /// <summary>How often a session whose facility or signing key is missing looks again (watches usually come first).</summary>
    public static readonly TimeSpan WaitRetry = TimeSpan.FromSeconds(30);

    /// <summary>Ready=False reason when an object the session needs exists and is not the operator's.</summary>
    public const string NameInUseReason = "NameInUse";

    public async Task<ReconcileResult> ReconcileAsync(UserSession session, CancellationToken cancellationToken)
    {
        if (session.Metadata.DeletionTimestamp is not null) return ReconcileResult.Done; // GC removes what it owns
        var ns = session.Metadata.NamespaceProperty;
        var now = clock.GetUtcNow();
        var facility = string.IsNullOrEmpty(session.Spec.FacilityRef) ? null : facilities.Get(new ObjectKey(ns, session.Spec.FacilityRef));

        if (facility is null)
        {
            var message = $"AnalysisFacility '{session.Spec.FacilityRef}' does not exist in namespace '{ns}'.";
            await manager.Events.RecordAsync(session, EventRecorder.Warning, "FacilityNotFound", message, cancellationToken);
            var missing = SessionConditions.Derive(Observe(session, null, null, null, []), session.Status, now.UtcDateTime);
            Override(missing, SessionConditions.Ready, "FacilityNotFound", message);
            missing.Phase = SessionConditions.PhasePending;
            await manager.Status.UpdateAsync(session, missing, cancellationToken);
            return ReconcileResult.After(WaitRetry);
        }

        // Culling first: an expired session is not worth a new token.
        var deadline = SessionPlanning.CullDeadline(session, facility);
        if (deadline is { } due && now >= due)
        {
            await manager.Events.RecordAsync(session, EventRecorder.Normal, "SessionExpired",
                $"Session exceeded its maximum age (ttl or the facility's culling maxAge) at {due:yyyy-MM-ddTHH:mm:ssZ}; deleting it.", cancellationToken);
            log.Information("Culling session {Session}", ObjectKey.Of(session).ToString());
            await manager.Applier.DeleteAsync(manager.Api.Types.For<UserSession>(), ns, session.Metadata.Name, cancellationToken);
            return ReconcileResult.Done;
        }

        var observedDask = children.DaskClusters.Get(new ObjectKey(ns, SessionNames.DaskCluster(session.Metadata.Name)));
        var plan = SessionPlanning.Plan(session, facility, observedDask);
        var result = deadline is { } d ? ReconcileResult.After(d - now) : ReconcileResult.Done;

        if (!plan.Build.Succeeded)
        {
            // A bad edit never tears down what runs: only the status and an Event say what is wrong.
            var message = string.Join(" ", plan.Build.Errors);
            await manager.Events.RecordAsync(session, EventRecorder.Warning, "InvalidSpec", message, cancellationToken);
            var stored = await StoredTokens.ReadAsync(children.Secrets, manager.Api, ns, plan.TokenSecretName, cancellationToken);
            var invalid = SessionConditions.Derive(Observe(session, plan, stored, CurrentPod(session), plan.Build.Errors), session.Status, now.UtcDateTime);
            await manager.Status.UpdateAsync(session, invalid, cancellationToken);
            return result;
        }

        if (plan.DaskLimits?.CapMessage is { } capped)
        {
            await manager.Events.RecordAsync(session, EventRecorder.Normal, "DaskCapped", capped, cancellationToken);
        }

        // The pod's supporting objects do not depend on each other: written side by side, a session starts in two
        // round trips to the API server (everything else, then the pod) instead of one per object.
        var objects = plan.Build.Objects!;
        var tokenTask = ReconcileTokenAsync(session, facility, plan, now, cancellationToken);
        var experimentTask = _experimentTokens.ReconcileAsync(session, facility, cancellationToken);
        var writes = new List<Task> { tokenTask, experimentTask };
        writes.AddRange(objects.All().Where(o => o is not V1Pod).Select(obj => manager.Applier.ApplyAsync(obj, session, cancellationToken)));
        if (plan.Dask is { } dask)
        {
            dask.Status = null!; // status belongs to the Dask controller
            writes.Add(manager.Applier.ApplyAsync(dask, session, cancellationToken));
        }
        else
        {
            writes.Add(manager.Applier.DeleteAsync(manager.Api.Types.For<DaskCluster>(), ns, SessionNames.DaskCluster(session.Metadata.Name), cancellationToken));
        }
        if (objects.NetworkPolicy is null)
        {
            writes.Add(manager.Applier.DeleteAsync(manager.Api.Types.For<V1NetworkPolicy>(), ns, SessionNames.Server(session.Metadata.Name), cancellationToken));
        }
        // The pod comes last: its service account must exist before admission accepts it.
        TokenOutcome token;
        PodOutcome pod;
        try
        {
            await Task.WhenAll(writes);
            token = await tokenTask;
            pod = await ReconcilePodAsync(session, objects.Pod, cancellationToken);
        }
        catch (NameInUseException e)
        {
            // An object of the session's name that is not the operator's (e.g. a DaskCluster made by hand): never written.
            await manager.Events.RecordAsync(session, EventRecorder.Warning, NameInUseReason, e.Message, cancellationToken);
            var stored = await StoredTokens.ReadAsync(children.Secrets, manager.Api, ns, plan.TokenSecretName, cancellationToken);
            var blocked = SessionConditions.Derive(Observe(session, plan, stored, CurrentPod(session), []), session.Status, now.UtcDateTime);
            Override(blocked, SessionConditions.Ready, NameInUseReason, e.Message, onlyIfFalse: true);
            await manager.Status.UpdateAsync(session, blocked, cancellationToken);
            return result.Merge(ReconcileResult.After(WaitRetry));
        }
        result = result.Merge(token.Requeue);
        var experiment = await experimentTask;
        if (experiment is not null) result = result.Merge(experiment.Requeue);

        var observation = Observe(session, plan, token.Stored, pod.Pod, []) with
        {
            RestartPending = pod.RestartPending,
            Services = experiment is null ? plan.Services : [.. plan.Services, experiment.Condition],
        };
        var status = SessionConditions.Derive(observation, session.Status, now.UtcDateTime);
        if (SessionHubRegistration.Awaited(session, facility) is { } awaited)
        {
            Override(status, SessionConditions.Ready, awaited.Reason, awaited.Message, onlyIfFalse: true);
        }
        if (token.Problem is { } problem)
        {
            Override(status, SessionConditions.TokenIssued, problem.Reason, problem.Message);
            if (status.Phase != SessionConditions.PhaseReady) Override(status, SessionConditions.Ready, problem.Reason, problem.Message, onlyIfFalse: true);
        }
        await manager.Status.UpdateAsync(session, status, cancellationToken);
        return result;
    }

    private sealed record TokenOutcome(StoredToken Stored, ReconcileResult Requeue, (string Reason, string Message)? Problem);

    private async Task<TokenOutcome> ReconcileTokenAsync(UserSession session, FacilityResource facility, SessionPlan plan, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var ns = session.Metadata.NamespaceProperty;
        var stored = await StoredTokens.ReadAsync(children.Secrets, manager.Api, ns, plan.TokenSecretName, cancellationToken);
        var settingsResult = IssuerSettings.FromSpec(facility.Spec.Tokens, facility.Metadata.Uid, HTCondorBuilder.IssuerAudiences(facility));
        if (!settingsResult.Succeeded)
        {
            return new TokenOutcome(stored, ReconcileResult.Done, ("InvalidIssuer", string.Join("; ", settingsResult.Errors)));
        }
        var settings = settingsResult.Value!;
        var ring = await ReadRingAsync(ns, facility.Metadata.Name, cancellationToken);
        if (ring is null || ring.ActiveAt(now) is null)
        {
            return new TokenOutcome(stored, ReconcileResult.After(WaitRetry),
                ("NoSigningKey", $"The facility's issuer has no active signing key yet (Secret {FacilitySecrets.IssuerKeysSecretName(facility.Metadata.Name)})."));
        }

        var request = SessionPlanning.TokenRequestFor(session, plan.TokenStoreName);
        var requestHash = SessionPlanning.RequestHash(request, settings);
        var published = ring.PublishedKeys.Select(k => k.KeyId).ToHashSet(StringComparer.Ordinal);
        var renewal = TokenRenewalPolicy.Decide(stored, requestHash, published, now);
        if (!renewal.Renew)
        {
            return new TokenOutcome(stored, ReconcileResult.At(TokenLifetimes.NextRefreshAt(stored.IssuedAt!.Value, stored.ExpiresAt!.Value), now), null);
        }

        log.Debug("New token for {Session}: {Reason}", ObjectKey.Of(session).ToString(), renewal.Reason);
        var minted = TokenMinter.Mint(settings, ring, request, now);
        if (!minted.Succeeded)
        {
            var message = string.Join("; ", minted.Errors);
            await manager.Events.RecordAsync(session, EventRecorder.Warning, "TokenRefused", message, cancellationToken);
            return new TokenOutcome(stored, ReconcileResult.Done, ("TokenRefused", message));
        }
        var token = minted.Value!;
        await manager.Applier.ApplyAsync(SessionPlanning.TokenSecret(session, facility, token, requestHash), session, cancellationToken);
        log.Debug("Minted {Token} for session {Session}", token.ToString(), ObjectKey.Of(session).ToString());
        return new TokenOutcome(new StoredToken(token.IssuedAt, token.ExpiresAt, token.KeyId, requestHash),
            ReconcileResult.At(token.NextRefreshAt, now), null);
    }

    private async Task<KeyRing?> ReadRingAsync(string ns, string facilityName, CancellationToken cancellationToken)
    {
        var read = await IssuerKeyRings.ReadAsync(children.Secrets, manager.Api, _rings, ns, facilityName, cancellationToken);
        if (read is { Succeeded: false })
        {
            log.Warning("Issuer key Secret {Namespace}/{Name} cannot be read: {Errors}", ns, FacilitySecrets.IssuerKeysSecretName(facilityName),
                string.Join("; ", read.Errors));
        }
        return read?.Value;
    }

    private sealed record PodOutcome(V1Pod? Pod, string? RestartPending);

    /// <summary>Carries out <see cref="PodReplacementPolicy"/>'s decision for the session's pod.</summary>
    private async Task<PodOutcome> ReconcilePodAsync(UserSession session, V1Pod desired, CancellationToken cancellationToken)
    {
        var key = ObjectKey.Of(desired);
        var live = children.Pods.Get(key);
        var decision = PodReplacementPolicy.Decide(live, Applier.Hash(desired, session, manager.Api.Json),
            desired.Metadata.Annotations?.TryGetValue(SessionBuilder.SessionSpecHashAnnotation, out var sessionHash) == true ? sessionHash : null);
        switch (decision.Action)
        {
            case PodAction.Create:
                await manager.Applier.ApplyAsync(desired, session, cancellationToken);
                return new PodOutcome(children.Pods.Get(key), null);
            case PodAction.Keep:
                await manager.Applier.ApplyAsync(desired, session, cancellationToken); // no call unless edited by hand
                return new PodOutcome(live, null);
            case PodAction.Defer:
                return new PodOutcome(live, decision.Message);
            case PodAction.Replace:
                await manager.Events.RecordAsync(session, EventRecorder.Normal, "PodReplaced", decision.Message!, cancellationToken);
                await manager.Api.DeleteAsync(manager.Api.Types.For<V1Pod>(), key.Namespace, key.Name, cancellationToken, uid: live!.Metadata.Uid);
                return new PodOutcome(live, null);
            default:
                return new PodOutcome(live, null);
        }
    }

    private V1Pod? CurrentPod(UserSession session) =>
        children.Pods.Get(new ObjectKey(session.Metadata.NamespaceProperty, SessionNames.Server(session.Metadata.Name)));

    private static SessionObservation Observe(UserSession session, SessionPlan? plan, StoredToken? token, V1Pod? pod, IReadOnlyList<string> errors) => new()
    {
        Generation = session.Metadata.Generation ?? 0,
        Errors = errors,
        TokenSecretPresent = token?.Present == true,
        TokenIssuedAt = token?.IssuedAt?.UtcDateTime,
        TokenExpiresAt = token?.ExpiresAt?.UtcDateTime,
        Pod = pod,
        Store = plan?.Build.Objects?.Store,
        DaskSchedulerAddress = plan?.DaskSchedulerAddress,
        DaskLimits = plan?.Build.Succeeded == true ? plan.DaskLimits : null,
        Services = plan?.Services ?? [],
    };

    /// <summary>Replaces reason and message of a condition the derivation produced (keeping its status and transition time).</summary>
    internal static void Override(UserSessionStatus status, string type, string reason, string message, bool onlyIfFalse = false)
    {
        var condition = status.Conditions.FirstOrDefault(c => c.Type == type);
        if (condition is null || (onlyIfFalse && condition.Status != "False")) return;
        condition.Reason = reason;
        condition.Message = message;
    }
}
