using AnalysisFacility.Operator.Tokens.Issuance;

namespace AnalysisFacility.Operator.Tokens.Refresh;

/// <summary>What the operator knows about a session's experiment token (from the IAM) and the login behind it.</summary>
/// <param name="Login">Which login handed the refresh token over (the hub's handover Secret: a new spawn gives a new one); null when there is none.</param>
/// <param name="AccessIssuedAt">When the access token in the session's Secret was obtained, if there is one.</param>
/// <param name="AccessExpiresAt">When that access token expires.</param>
/// <param name="AccessFromLogin">The login the stored access token was obtained with.</param>
/// <param name="RevokedLogin">The login whose refresh token the IAM last refused for good (invalid_grant), if any.</param>
/// <param name="LastFailureAt">When the last attempt failed for a passing reason (IAM unreachable, 5xx), if it did.</param>
public sealed record ExperimentTokenState(
    string? Login,
    DateTimeOffset? AccessIssuedAt,
    DateTimeOffset? AccessExpiresAt,
    string? AccessFromLogin,
    string? RevokedLogin,
    DateTimeOffset? LastFailureAt);

public enum RefreshAction
{
    /// <summary>Ask the IAM for a new access token now.</summary>
    Refresh,
    /// <summary>Nothing to do until <see cref="RefreshDecision.At"/>.</summary>
    Wait,
    /// <summary>Nothing can be done until the hub hands over another refresh token (a new login).</summary>
    Stop,
}

/// <summary>What to do about the experiment token, when, and why (the reason is also the condition reason).</summary>
public sealed record RefreshDecision(RefreshAction Action, DateTimeOffset? At, string Reason);

/// <summary>
/// When the operator refreshes a session's experiment token at the IAM. IAM access tokens may be shorter-lived than
/// the facility's own (WLCG bounds do not bind the IAM), and every refresh is a call to a service the facility does
/// not run, so the rule is: refresh once less than <see cref="Margin"/> of the token's life remains, where the margin
/// is the facility token's safety margin (<see cref="TokenLifetimes.MinimumRemaining"/> +
/// <see cref="TokenLifetimes.DeliveryDelay"/>) or half the lifetime for tokens shorter than twice that.
/// A refresh token the IAM refused is never sent again; a passing failure is retried after <see cref="RetryAfter"/>.
/// </summary>
public static class ExperimentTokenRefresh
{
    public const string NoRefreshToken = "NoRefreshToken";
    public const string Revoked = "RefreshTokenRevoked";
    public const string NoAccessToken = "NoAccessToken";
    public const string NewLogin = "NewLogin";
    public const string DueForRefresh = "DueForRefresh";
    public const string RetryAfterFailure = "RetryAfterFailure";
    public const string Fresh = "Fresh";

    public static TimeSpan RetryAfter { get; } = TimeSpan.FromSeconds(30);

    /// <summary>Time before expiry at which a token of lifetime <paramref name="lifetime"/> is replaced.</summary>
    public static TimeSpan Margin(TimeSpan lifetime)
    {
        var safety = TokenLifetimes.MinimumRemaining + TokenLifetimes.DeliveryDelay;
        var half = lifetime / 2;
        return half < safety ? half : safety;
    }

    /// <summary>When an access token issued at <paramref name="issuedAt"/> and expiring at <paramref name="expiresAt"/> is replaced.</summary>
    public static DateTimeOffset RefreshAt(DateTimeOffset issuedAt, DateTimeOffset expiresAt)
    {
        var lifetime = expiresAt > issuedAt ? expiresAt - issuedAt : TimeSpan.Zero;
        return expiresAt - Margin(lifetime);
    }

    public static RefreshDecision Decide(ExperimentTokenState state, DateTimeOffset now)
    {
        if (state.Login is null) return new(RefreshAction.Stop, null, NoRefreshToken);
        if (state.RevokedLogin == state.Login) return new(RefreshAction.Stop, null, Revoked);
        if (state.LastFailureAt is { } failed && now < failed + RetryAfter) return new(RefreshAction.Wait, failed + RetryAfter, RetryAfterFailure);
        if (state.AccessIssuedAt is not { } issued || state.AccessExpiresAt is not { } expires) return new(RefreshAction.Refresh, now, NoAccessToken);
        if (state.AccessFromLogin != state.Login) return new(RefreshAction.Refresh, now, NewLogin);
        var due = RefreshAt(issued, expires);
        return now >= due ? new(RefreshAction.Refresh, now, DueForRefresh) : new(RefreshAction.Wait, due, Fresh);
    }
}
