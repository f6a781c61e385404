using System.Text;

namespace AnalysisFacility.Operator.Tokens.Grants;

/// <summary>An OAuth2 error response (RFC 6749 section 5.2): the code, a description without secrets, and the HTTP status.</summary>
public sealed record OAuthError(string Code, string Description, int Status);

/// <summary>What the token endpoint decided: the client and scopes to mint for, or the error to answer with.</summary>
public sealed record GrantDecision(RobotClient? Client, IReadOnlyList<string> Scopes, OAuthError? Error, string? AttemptedClientId)
{
    public static GrantDecision Fail(string code, string description, int status = 400, string? clientId = null) =>
        new(null, [], new OAuthError(code, description, status), clientId);
}

/// <summary>
/// The client-credentials grant (RFC 6749 section 4.4) for registered robot clients: client authentication by HTTP Basic
/// (section 2.3.1, form-urlencoded id and secret) or by client_id/client_secret in the body, never both; the scopes asked
/// for must all be in the client's allowance (none asked: all of it, section 3.3).
/// </summary>
public static class ClientCredentialsGrant
{
    public const string GrantType = "client_credentials";

    public static GrantDecision Decide(IReadOnlyDictionary<string, string> form, string? authorization, IReadOnlyDictionary<string, RobotClient> clients)
    {
        string? clientId = null, secret = null;
        var basic = authorization is not null && authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase);
        if (basic)
        {
            if (!TryParseBasic(authorization![6..].Trim(), out clientId, out secret))
                return GrantDecision.Fail("invalid_client", "malformed HTTP Basic credentials", 401);
            if (form.ContainsKey("client_secret")) return GrantDecision.Fail("invalid_request", "use one client authentication method, not two", 400, clientId);
        }
        else
        {
            form.TryGetValue("client_id", out clientId);
            form.TryGetValue("client_secret", out secret);
        }

        if (!form.TryGetValue("grant_type", out var grantType) || grantType.Length == 0)
            return GrantDecision.Fail("invalid_request", "grant_type is missing", 400, clientId);
        if (grantType != GrantType)
            return GrantDecision.Fail("unsupported_grant_type", $"only {GrantType} is supported here", 400, clientId);
        if (string.IsNullOrEmpty(clientId) || string.IsNullOrEmpty(secret))
            return GrantDecision.Fail("invalid_client", "client authentication is required", 401, clientId);
        // An unknown client and a wrong secret answer alike, so the endpoint does not tell which ids exist.
        if (!clients.TryGetValue(clientId, out var client) | !(client?.SecretMatches(secret) ?? SecretMatchesNothing(secret)))
            return GrantDecision.Fail("invalid_client", "client authentication failed", 401, clientId);

        IReadOnlyList<string> scopes = client!.Scopes;
        if (form.TryGetValue("scope", out var requested) && requested.Trim().Length > 0)
        {
            var asked = requested.Split(' ', StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal).ToList();
            var refused = asked.Where(s => !client.Scopes.Contains(s, StringComparer.Ordinal)).ToList();
            if (refused.Count > 0)
                return GrantDecision.Fail("invalid_scope", $"not allowed for this client: {string.Join(' ', refused.Select(Issuance.ScopeRules.Printable))}", 400, clientId);
            scopes = asked;
        }
        return new GrantDecision(client, scopes, null, clientId);
    }

    private static bool SecretMatchesNothing(string secret)
    {
        // Same work as a real comparison, so timing does not tell unknown clients from known ones.
        System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(secret));
        return false;
    }

    private static bool TryParseBasic(string encoded, out string? clientId, out string? secret)
    {
        clientId = secret = null;
        string decoded;
        try { decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded)); }
        catch (FormatException) { return false; }
        var colon = decoded.IndexOf(':');
        if (colon < 0) return false;
        // RFC 6749 section 2.3.1: both parts are form-urlencoded before Basic encoding.
        clientId = Uri.UnescapeDataString(decoded[..colon].Replace('+', ' '));
        secret = Uri.UnescapeDataString(decoded[(colon + 1)..].Replace('+', ' '));
        return true;
    }
}
