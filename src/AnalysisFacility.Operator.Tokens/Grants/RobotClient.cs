using System.Security.Cryptography;
using System.Text;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Tokens.Issuance;

namespace AnalysisFacility.Operator.Tokens.Grants;

/// <summary>A registered robot client: its id, the SHA-256 of its secret (never the secret), what it may ask for, how long its tokens live.</summary>
public sealed class RobotClient
{
    public const string HashPrefix = "sha256:";

    private RobotClient(string clientId, byte[] secretHash, IReadOnlyList<string> scopes, TimeSpan lifetime)
    {
        ClientId = clientId;
        SecretHash = secretHash;
        Scopes = scopes;
        Lifetime = lifetime;
    }

    public string ClientId { get; }
    public IReadOnlyList<string> Scopes { get; }
    public TimeSpan Lifetime { get; }
    private byte[] SecretHash { get; }

    /// <summary>Whether <paramref name="secret"/> is this client's, compared in constant time.</summary>
    public bool SecretMatches(string secret) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(secret)), SecretHash);

    /// <summary>The client from its spec and the content of the Secret key it references ('sha256:' and 64 hex digits).</summary>
    public static IssuanceResult<RobotClient> FromSpec(RobotClientSpec spec, string? storedHash, string field)
    {
        var errors = new List<string>();
        byte[]? hash = null;
        var text = storedHash?.Trim() ?? "";
        if (storedHash is null) errors.Add($"{field}.secretHashRef: Secret {spec.SecretHashRef.Name} has no key '{spec.SecretHashRef.Key}'");
        else if (!text.StartsWith(HashPrefix, StringComparison.Ordinal) || text.Length != HashPrefix.Length + 64 || !text[HashPrefix.Length..].All(char.IsAsciiHexDigit))
            errors.Add($"{field}.secretHashRef: the value is not 'sha256:' followed by 64 hex digits (the hash of the secret, not the secret)");
        else hash = Convert.FromHexString(text[HashPrefix.Length..]);
        for (var i = 0; i < spec.Scopes.Count; i++)
        {
            if (ScopeRules.Check(spec.Scopes[i], $"{field}.scopes[{i}]") is { } problem) errors.Add(problem);
        }
        if (spec.Scopes.Count == 0) errors.Add($"{field}.scopes: a robot needs at least one scope");
        if (!DurationText.TryParse(spec.Lifetime, out var lifetime)) errors.Add($"{field}.lifetime: '{ScopeRules.Printable(spec.Lifetime ?? "")}' is not a duration");
        else if (!TokenLifetimes.IsWithinBounds(lifetime)) errors.Add($"{field}.lifetime: {spec.Lifetime} is outside 15m to 6h");
        return errors.Count > 0
            ? IssuanceResult<RobotClient>.Fail(errors)
            : IssuanceResult<RobotClient>.Ok(new RobotClient(spec.ClientId, hash!, [.. spec.Scopes.Distinct(StringComparer.Ordinal)], lifetime));
    }

    /// <summary>What an admin stores for <paramref name="secret"/> (the same as: printf %s "$SECRET" | sha256sum).</summary>
    public static string HashOf(string secret) => HashPrefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));
}
