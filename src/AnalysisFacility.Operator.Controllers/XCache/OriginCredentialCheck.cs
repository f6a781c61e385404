using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using AnalysisFacility.Operator.Builders.XCache;
using AnalysisFacility.Operator.Tokens.Jose;

namespace AnalysisFacility.Operator.Controllers.XCache;

/// <summary>The verdict on the cache's origin credential: usable or not, why, and when to look again.</summary>
public sealed record OriginCredentialVerdict(bool Usable, string Reason, string Message, TimeSpan RecheckIn);

/// <summary>
/// Decides whether a credential the admin provides (a token kept fresh by its owner, or an x509 proxy) can be used
/// now. Pure: the Secret's data in, the verdict out. Nothing is written to the admin's Secret.
/// </summary>
public static class OriginCredentialCheck
{
    /// <summary>Admin Secrets are not watched (they carry no managed-by label): look again this often.</summary>
    public static readonly TimeSpan Recheck = TimeSpan.FromMinutes(1);

    public static OriginCredentialVerdict Evaluate(OriginCredentialSource source, string secretName, string key,
        IDictionary<string, byte[]>? data, DateTimeOffset now)
    {
        var what = source == OriginCredentialSource.X509Proxy ? "x509 proxy" : "token";
        if (data is null)
        {
            return new(false, "CredentialSecretMissing", $"The Secret {secretName} with the cache's {what} for the origin does not exist; every cache miss fails until it does.", Recheck);
        }
        if (!data.TryGetValue(key, out var bytes) || bytes.Length == 0)
        {
            return new(false, "CredentialSecretMissing", $"The Secret {secretName} has no key {key} with the cache's {what} for the origin.", Recheck);
        }
        var expiresAt = source == OriginCredentialSource.X509Proxy ? ProxyExpiry(bytes) : TokenExpiry(bytes);
        if (expiresAt is null)
        {
            var expected = source == OriginCredentialSource.X509Proxy ? "a PEM certificate (proxy) followed by its key" : "a JWT with an exp claim";
            return new(false, source == OriginCredentialSource.X509Proxy ? "ProxyInvalid" : "TokenInvalid",
                $"Secret {secretName} key {key} is not {expected}.", Recheck);
        }
        if (expiresAt <= now)
        {
            return new(false, source == OriginCredentialSource.X509Proxy ? "ProxyExpired" : "TokenExpired",
                $"The {what} in Secret {secretName} expired at {expiresAt:yyyy-MM-ddTHH:mm:ssZ}; renew it (the cache picks the new one up without a restart).", Recheck);
        }
        var left = expiresAt.Value - now;
        return new(true, source == OriginCredentialSource.X509Proxy ? "ProxyValid" : "TokenProvided",
            $"The {what} in Secret {secretName} is valid until {expiresAt:yyyy-MM-ddTHH:mm:ssZ}.", left < Recheck ? left : Recheck);
    }

    /// <summary>notAfter of the first certificate in the PEM (a proxy file starts with the proxy certificate).</summary>
    public static DateTimeOffset? ProxyExpiry(byte[] pem)
    {
        try
        {
            var text = Encoding.ASCII.GetString(pem);
            const string begin = "-----BEGIN CERTIFICATE-----";
            const string end = "-----END CERTIFICATE-----";
            var start = text.IndexOf(begin, StringComparison.Ordinal);
            var stop = start < 0 ? -1 : text.IndexOf(end, start, StringComparison.Ordinal);
            if (stop < 0) return null;
            using var certificate = X509Certificate2.CreateFromPem(text.AsSpan(start, stop + end.Length - start));
            return new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
        }
        catch (CryptographicException)
        {
            return null;
        }
    }

    /// <summary>exp of a JWT (the signature is the origin's business, not the operator's).</summary>
    public static DateTimeOffset? TokenExpiry(byte[] token)
    {
        try
        {
            var parts = Encoding.ASCII.GetString(token).Trim().Split('.');
            if (parts.Length != 3) return null;
            using var payload = JsonDocument.Parse(Base64Url.Decode(parts[1]));
            return payload.RootElement.TryGetProperty("exp", out var exp) && exp.TryGetInt64(out var seconds)
                ? DateTimeOffset.FromUnixTimeSeconds(seconds)
                : null;
        }
        catch (Exception e) when (e is FormatException or JsonException or ArgumentException)
        {
            return null;
        }
    }
}
