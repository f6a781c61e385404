using System.Text;
using System.Text.Json;

namespace AnalysisFacility.Operator.Tokens.Jose;

/// <summary>The times and key of a compact JWS, read without checking its signature.</summary>
public sealed record JwtTimes(DateTimeOffset? IssuedAt, DateTimeOffset? ExpiresAt, string? KeyId);

/// <summary>
/// Reads iat, exp and kid out of a compact JWS without verifying it: for deciding when a token the operator itself stored
/// is due for renewal (a foreign or damaged token only makes it renew sooner). Never use it to trust a token.
/// </summary>
public static class UnverifiedJwt
{
    /// <summary>The token's times and key; null when <paramref name="token"/> is not a compact JWS with JSON header and payload.</summary>
    public static JwtTimes? Read(ReadOnlySpan<byte> token)
    {
        try
        {
            var parts = Encoding.ASCII.GetString(token).Trim().Split('.');
            if (parts.Length != 3) return null;
            using var header = JsonDocument.Parse(Base64Url.Decode(parts[0]));
            using var payload = JsonDocument.Parse(Base64Url.Decode(parts[1]));
            var kid = header.RootElement.TryGetProperty("kid", out var k) ? k.GetString() : null;
            var iat = payload.RootElement.TryGetProperty("iat", out var i) ? DateTimeOffset.FromUnixTimeSeconds(i.GetInt64()) : (DateTimeOffset?)null;
            var exp = payload.RootElement.TryGetProperty("exp", out var e) ? DateTimeOffset.FromUnixTimeSeconds(e.GetInt64()) : (DateTimeOffset?)null;
            return new JwtTimes(iat, exp, kid);
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException or ArgumentException)
        {
            return null;
        }
    }
}
