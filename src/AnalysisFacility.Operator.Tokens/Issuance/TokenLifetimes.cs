namespace AnalysisFacility.Operator.Tokens.Issuance;

/// <summary>Lifetime bounds of access tokens (WLCG Common JWT Profile) and the refresh rule.</summary>
public static class TokenLifetimes
{
    public static TimeSpan Minimum { get; } = TimeSpan.FromMinutes(15);
    public static TimeSpan Maximum { get; } = TimeSpan.FromHours(6);
    public static TimeSpan Default { get; } = TimeSpan.FromHours(1);

    /// <summary>The token file consumers read never has less than this left.</summary>
    public static TimeSpan MinimumRemaining { get; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Worst case between minting and the new token being in the pod's file: kubelet refreshes Secret volumes on its
    /// sync loop (up to ~1 min) behind a cache (~1 min TTL), the refresher sidecar polls every
    /// <c>TokenDelivery.RefreshIntervalSeconds</c>, and the controller's requeue can run a little late.
    /// </summary>
    public static TimeSpan DeliveryDelay { get; } = TimeSpan.FromMinutes(3);

    /// <summary>nbf is backdated so consumers with slightly slow clocks accept a fresh token.</summary>
    public static TimeSpan NotBeforeSkew { get; } = TimeSpan.FromSeconds(60);

    public static bool IsWithinBounds(TimeSpan lifetime) => lifetime >= Minimum && lifetime <= Maximum;

    /// <summary>
    /// When a token issued at <paramref name="issuedAt"/> and expiring at <paramref name="expiresAt"/> must be replaced.
    /// <para>
    /// Rule: refresh when less than half the lifetime L remains, i.e. at iat + L/2, but no later than
    /// exp − (MinimumRemaining + DeliveryDelay). The old token stays in the pod's file until the new one arrives, at
    /// most DeliveryDelay after the refresh, so at that moment it still has
    /// exp − (refreshAt + DeliveryDelay) ≥ MinimumRemaining left; the new token arrives with L − DeliveryDelay ≥
    /// 15 min − 3 min = 12 min ≥ MinimumRemaining. Example: L = 1 h → refresh at 30 min (30 min left);
    /// L = 15 min → refresh at 2 min (13 min left).
    /// </para>
    /// </summary>
    public static DateTimeOffset NextRefreshAt(DateTimeOffset issuedAt, DateTimeOffset expiresAt)
    {
        var lifetime = expiresAt - issuedAt;
        var halfway = issuedAt + lifetime / 2;
        var latestSafe = expiresAt - MinimumRemaining - DeliveryDelay;
        var refreshAt = halfway < latestSafe ? halfway : latestSafe;
        return refreshAt < issuedAt ? issuedAt : refreshAt;
    }

    /// <summary>True when a token (or the lack of one) must be replaced at <paramref name="now"/>.</summary>
    public static bool NeedsRefresh(DateTimeOffset now, DateTimeOffset? issuedAt, DateTimeOffset? expiresAt) =>
        issuedAt is null || expiresAt is null || now >= NextRefreshAt(issuedAt.Value, expiresAt.Value);
}
