using System.Text;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Sessions;
using AnalysisFacility.Operator.Builders.Tokens;
using AnalysisFacility.Operator.Runtime.Apply;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Controllers;
using AnalysisFacility.Operator.Runtime.Events;
using AnalysisFacility.Operator.Runtime.Hosting;
using AnalysisFacility.Operator.Tokens.Refresh;
using k8s.Models;
using Serilog;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Controllers.Sessions;

/// <summary>The experiment token's condition and when to look again.</summary>
internal sealed record ExperimentTokenOutcome(ServiceCondition Condition, ReconcileResult Requeue);

/// <summary>
/// Keeps a session's experiment token fresh: the access token from the experiment's identity provider, obtained with the
/// refresh token the hub's spawner handed over at login (spec.refreshTokenSecretName) and the facility's OAuth client,
/// whose secret never leaves the operator and the hub. <see cref="ExperimentTokenRefresh"/> decides; this class reads the
/// Secrets it needs by GET only when it refreshes (the cache holds none of their data) and writes the operator's
/// experiment token Secret, which the pod's token helpers deliver to EXPERIMENT_TOKEN_FILE.
/// </summary>
internal sealed class SessionExperimentTokens(OperatorManager manager, Informer<V1Secret> secrets, IdentityProviderClients clients,
    TimeProvider clock, ILogger log)
{
    public const string ConditionType = "ExperimentTokenReady";

    /// <summary>How often a session whose client Secrets or CA are missing looks again (an admin's fix).</summary>
    public static readonly TimeSpan MissingRetry = TimeSpan.FromSeconds(30);

    /// <summary>The spawner writes the handover Secret right after the session (it needs the session's uid as owner): look again soon, for a minute.</summary>
    public static readonly TimeSpan HandoverRetry = TimeSpan.FromSeconds(2);

    /// <summary>Null when the facility offers no experiment token (its hub does not log users in at an identity provider).</summary>
    public async Task<ExperimentTokenOutcome?> ReconcileAsync(UserSession session, FacilityResource facility, CancellationToken cancellationToken)
    {
        if (!ExperimentTokenSecret.Offered(facility) || facility.Spec.Hub.Authentication.OAuth is not { } oauth) return null;
        var ns = session.Metadata.NamespaceProperty;
        var name = ExperimentTokenSecret.Name(facility.Metadata.Name, session.Spec.User.Name);
        var record = ExperimentTokenSecret.Read(secrets.Get(new ObjectKey(ns, name)));
        var now = clock.GetUtcNow();
        var decision = ExperimentTokenRefresh.Decide(
            new ExperimentTokenState(session.Spec.RefreshTokenSecretName, record.IssuedAt, record.ExpiresAt, record.Login, record.RevokedLogin, record.FailedAt), now);

        switch (decision.Action)
        {
            case RefreshAction.Stop when decision.Reason == ExperimentTokenRefresh.NoRefreshToken:
                return Outcome(false, decision.Reason,
                    "No refresh token was handed over for this session: it was not started by a hub login, or the identity provider gave the hub none (it may need the offline_access scope in spec.hub.authentication.oauth.scopes).",
                    ReconcileResult.Done);
            case RefreshAction.Stop:
                return Outcome(false, decision.Reason,
                    "The identity provider refused this login's refresh token (revoked or expired); log in to the hub again for a new experiment token.", ReconcileResult.Done);
            case RefreshAction.Wait when decision.Reason == ExperimentTokenRefresh.RetryAfterFailure:
                return Outcome(false, decision.Reason, $"{record.Failure ?? "The last refresh failed"}; retrying at {decision.At:HH:mm:ss}Z.", ReconcileResult.At(decision.At!.Value, now));
            case RefreshAction.Wait:
                return Outcome(true, decision.Reason, $"The experiment token is valid until {record.ExpiresAt:yyyy-MM-ddTHH:mm:ssZ}; refreshed at {decision.At:HH:mm:ss}Z.",
                    ReconcileResult.At(decision.At!.Value, now));
        }
        log.Debug("Refreshing the experiment token of {Session}: {Reason}", ObjectKey.Of(session).ToString(), decision.Reason);
        return await RefreshAsync(session, facility, oauth, name, record, now, cancellationToken);
    }

    private async Task<ExperimentTokenOutcome> RefreshAsync(UserSession session, FacilityResource facility, OAuthSpec oauth, string name, ExperimentTokenRecord record,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        var ns = session.Metadata.NamespaceProperty;
        var login = session.Spec.RefreshTokenSecretName!;
        var handover = await manager.Api.GetAsync<V1Secret>(ns, login, cancellationToken);
        if (handover is null)
        {
            return Outcome(false, "RefreshTokenSecretMissing", $"The refresh token Secret {login} named by spec.refreshTokenSecretName does not exist.",
                ReconcileResult.After(session.Metadata.CreationTimestamp is { } created && now - new DateTimeOffset(DateTime.SpecifyKind(created, DateTimeKind.Utc)) < TimeSpan.FromMinutes(1)
                    ? HandoverRetry : MissingRetry));
        }
        // Only the hub's handover for this very session counts: a session must not name another user's login.
        if (handover.Metadata.OwnerReferences?.Any(o => o.Uid == session.Metadata.Uid) != true)
        {
            var message = $"The refresh token Secret {login} is not owned by this UserSession; only the Secret the hub made for this session is used.";
            await manager.Events.RecordAsync(session, EventRecorder.Warning, "RefreshTokenSecretNotOwned", message, cancellationToken);
            return Outcome(false, "RefreshTokenSecretNotOwned", message, ReconcileResult.Done);
        }
        var current = await manager.Api.GetAsync<V1Secret>(ns, name, cancellationToken);
        var currentData = current?.Data ?? new Dictionary<string, byte[]>();
        // A provider that rotates refresh tokens answered with a new one last time: it is the one to send now.
        var refreshToken = record.Login == login && Text(currentData, ExperimentTokenSecret.RefreshTokenKey) is { Length: > 0 } rotated
            ? rotated
            : Text(handover.Data, ExperimentTokenSecret.RefreshTokenKey);
        if (string.IsNullOrEmpty(refreshToken))
        {
            return Outcome(false, ExperimentTokenRefresh.NoRefreshToken, $"The refresh token Secret {login} has no {ExperimentTokenSecret.RefreshTokenKey} key.", ReconcileResult.Done);
        }

        var clientId = await SecretValueAsync(ns, oauth.ClientIdSecretRef, cancellationToken);
        var clientSecret = await SecretValueAsync(ns, oauth.ClientSecretSecretRef, cancellationToken);
        if (clientId is null || clientSecret is null)
        {
            return Outcome(false, "ClientSecretMissing",
                "The hub's OAuth client id or secret (spec.hub.authentication.oauth.clientIdSecretRef, clientSecretSecretRef) cannot be read.", ReconcileResult.After(MissingRetry));
        }
        string? caBundle = null;
        if (oauth.CaConfigMap is { } caName)
        {
            var map = await manager.Api.GetAsync(manager.Api.Types.For<V1ConfigMap>(), ns, caName, cancellationToken);
            caBundle = map?["data"]?["ca.crt"]?.GetValue<string>();
            if (string.IsNullOrWhiteSpace(caBundle))
            {
                return Outcome(false, "IdentityProviderCaMissing", $"The ConfigMap {caName} (spec.hub.authentication.oauth.caConfigMap) has no ca.crt.", ReconcileResult.After(MissingRetry));
            }
        }

        RefreshOutcome outcome;
        try
        {
            outcome = await new OidcRefreshClient(clients.For(caBundle), clock).RefreshAsync(new Uri(oauth.TokenUrl), clientId, clientSecret, refreshToken, cancellationToken);
        }
        catch (ArgumentException)
        {
            return Outcome(false, "IdentityProviderCaMissing", $"The ConfigMap {oauth.CaConfigMap} holds no PEM certificate under ca.crt.", ReconcileResult.After(MissingRetry));
        }

        switch (outcome.Kind)
        {
            case RefreshOutcomeKind.Refreshed:
                await WriteAsync(session, facility, new ExperimentTokenRecord(login, outcome.IssuedAt, outcome.ExpiresAt, null, null, null),
                    ExperimentTokenSecret.Data(outcome.AccessToken!, outcome.NewRefreshToken ?? refreshToken), cancellationToken);
                log.Information("Experiment token of {Session} refreshed, valid until {ExpiresAt:O}", ObjectKey.Of(session).ToString(), outcome.ExpiresAt);
                var due = ExperimentTokenRefresh.RefreshAt(outcome.IssuedAt!.Value, outcome.ExpiresAt!.Value);
                return Outcome(true, "Refreshed", $"The experiment token is valid until {outcome.ExpiresAt:yyyy-MM-ddTHH:mm:ssZ}; refreshed at {due:HH:mm:ss}Z.", ReconcileResult.At(due, now));
            case RefreshOutcomeKind.Revoked:
                // The login's tokens are no longer the user's to use: the Secret keeps only the record of the refusal.
                await WriteAsync(session, facility, record with { RevokedLogin = login, FailedAt = null, Failure = null }, new Dictionary<string, byte[]>(), cancellationToken);
                await manager.Events.RecordAsync(session, EventRecorder.Warning, ExperimentTokenRefresh.Revoked, outcome.Message, cancellationToken);
                return Outcome(false, ExperimentTokenRefresh.Revoked, outcome.Message, ReconcileResult.Done);
            default:
                var reason = outcome.Kind == RefreshOutcomeKind.ClientRejected ? "ClientRejected" : "IdentityProviderUnavailable";
                await WriteAsync(session, facility, record with { FailedAt = now, Failure = outcome.Message }, currentData, cancellationToken);
                if (outcome.Kind == RefreshOutcomeKind.ClientRejected)
                {
                    await manager.Events.RecordAsync(session, EventRecorder.Warning, reason, outcome.Message, cancellationToken);
                }
                return Outcome(false, reason, outcome.Message, ReconcileResult.After(ExperimentTokenRefresh.RetryAfter));
        }
    }

    private async Task WriteAsync(UserSession session, FacilityResource facility, ExperimentTokenRecord record, IDictionary<string, byte[]> data, CancellationToken cancellationToken)
    {
        var secret = ExperimentTokenSecret.Build(facility.Metadata.Name, session.Metadata.NamespaceProperty, session.Spec.User.Name, record, data);
        await manager.Applier.ApplyAsync(secret, session, cancellationToken);
    }

    private async Task<string?> SecretValueAsync(string ns, SecretKeyReference reference, CancellationToken cancellationToken) =>
        Text((await manager.Api.GetAsync<V1Secret>(ns, reference.Name, cancellationToken))?.Data, reference.Key)?.Trim() is { Length: > 0 } value ? value : null;

    private static string? Text(IDictionary<string, byte[]>? data, string key) =>
        data is not null && data.TryGetValue(key, out var bytes) ? Encoding.UTF8.GetString(bytes) : null;

    private static ExperimentTokenOutcome Outcome(bool ready, string reason, string message, ReconcileResult requeue) =>
        new(new ServiceCondition(ConditionType, ready, reason, message), requeue);
}
