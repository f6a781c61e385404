using AnalysisFacility.Operator.Tokens.Issuance;

namespace AnalysisFacility.Operator.Controllers.Sessions;

/// <summary>Whether a stored token is replaced, and why (cert-manager's trigger policies are the model).</summary>
public sealed record TokenRenewal(bool Renew, string Reason, string Message)
{
    public static readonly TokenRenewal Keep = new(false, "Current", "The stored token is current.");
}

/// <summary>
/// The rule for session and robot tokens: a new token when there is none, when what it must say changed (identity,
/// groups, scopes, audiences), when its signing key is no longer published (verifiers would refuse it), or once half
/// its life is gone (<see cref="TokenLifetimes"/>). Pure: the reconcilers mint, this only decides.
/// </summary>
public static class TokenRenewalPolicy
{
    public static TokenRenewal Decide(StoredToken stored, string requestHash, IReadOnlyCollection<string> publishedKeyIds, DateTimeOffset now)
    {
        if (!stored.Present) return new TokenRenewal(true, "NoToken", "There is no readable token yet.");
        if (stored.RequestHash != requestHash) return new TokenRenewal(true, "RequestChanged", "What the token must carry (identity, groups, scopes, audiences) changed.");
        if (stored.KeyId is null || !publishedKeyIds.Contains(stored.KeyId)) return new TokenRenewal(true, "KeyRetired", "The token's signing key is no longer published.");
        if (TokenLifetimes.NeedsRefresh(now, stored.IssuedAt, stored.ExpiresAt)) return new TokenRenewal(true, "RefreshDue", "Half of the token's life is gone.");
        return TokenRenewal.Keep;
    }
}
