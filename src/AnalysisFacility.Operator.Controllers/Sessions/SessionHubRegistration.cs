using AnalysisFacility.Operator.Api.V1Alpha1;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Controllers.Sessions;

/// <summary>
/// Whether a session's notebook server can start: `jupyterhub-singleuser` needs the hub's environment (API token,
/// OAuth client), which only the hub's spawner writes. A session an admin made directly has none until its user logs
/// in and the hub adopts it; until then its status says so instead of reporting a server that keeps failing.
/// </summary>
public static class SessionHubRegistration
{
    public const string AwaitingHubLoginReason = "AwaitingHubLogin";

    /// <summary>The reason and message to show while the session waits for its user's login, or null when none is awaited.</summary>
    public static (string Reason, string Message)? Awaited(UserSession session, FacilityResource facility) =>
        session.Spec.HubEnvSecretName is null && facility.Spec.Hub.Enabled
            ? (AwaitingHubLoginReason,
                $"Made without the hub: the notebook server starts when {session.Spec.User.Name} logs in to the hub and starts a server " +
                "(the hub adopts this session and keeps its spec). Its token, store and Dask cluster are ready meanwhile.")
            : null;
}
