using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace AnalysisFacility.Operator.Tokens.Refresh;

public enum RefreshOutcomeKind
{
    Refreshed,
    /// <summary>The IAM refused the refresh token for good (RFC 6749 §5.2 invalid_grant: revoked, expired, other client).</summary>
    Revoked,
    /// <summary>The IAM refused the facility's client (invalid_client): the admin's client id or secret is wrong.</summary>
    ClientRejected,
    /// <summary>No usable answer (network, TLS, 5xx, malformed): try again later.</summary>
    Unavailable,
}

/// <summary>
/// The answer of one refresh. <see cref="AccessToken"/> and <see cref="NewRefreshToken"/> are secrets: never log this
/// record's values (its <see cref="ToString"/> leaves them out); <see cref="Message"/> never contains a token.
/// </summary>
public sealed record RefreshOutcome(RefreshOutcomeKind Kind, string Message, string? AccessToken = null, DateTimeOffset? IssuedAt = null,
    DateTimeOffset? ExpiresAt = null, string? NewRefreshToken = null)
{
    public override string ToString() => $"{Kind}: {Message}";
}

/// <summary>
/// The refresh-token grant (RFC 6749 §6) at an OpenID Connect provider's token endpoint, with the facility's OAuth
/// client authenticating by HTTP Basic (client_secret_basic, RFC 6749 §2.3.1). The I/O half of
/// <see cref="ExperimentTokenRefresh"/>.
/// </summary>
public sealed class OidcRefreshClient(HttpClient http, TimeProvider clock)
{
    public async Task<RefreshOutcome> RefreshAsync(Uri tokenEndpoint, string clientId, string clientSecret, string refreshToken,
        CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, tokenEndpoint)
        {
            Content = new FormUrlEncodedContent([
                KeyValuePair.Create("grant_type", "refresh_token"),
                KeyValuePair.Create("refresh_token", refreshToken),
            ]),
        };
        // RFC 6749 §2.3.1: client id and secret are form-urlencoded before they are joined for Basic.
        var credentials = $"{Uri.EscapeDataString(clientId)}:{Uri.EscapeDataString(clientSecret)}";
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials)));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));

        var sentAt = clock.GetUtcNow();
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new RefreshOutcome(RefreshOutcomeKind.Unavailable, $"token endpoint {tokenEndpoint} unreachable: {e.GetType().Name}");
        }
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            var error = ErrorCode(body);
            if (response.StatusCode == HttpStatusCode.Unauthorized || error == "invalid_client")
            {
                return new RefreshOutcome(RefreshOutcomeKind.ClientRejected, $"the identity provider refused the facility's OAuth client ({(int)response.StatusCode} {error ?? ""})".TrimEnd());
            }
            if (response.StatusCode == HttpStatusCode.BadRequest)
            {
                // invalid_grant, or a bare 400 as some providers (glewlwyd) answer for a revoked token.
                return new RefreshOutcome(RefreshOutcomeKind.Revoked, $"the identity provider refused the login's refresh token (400 {error ?? "without an error code"}); log in again");
            }
            if (!response.IsSuccessStatusCode)
            {
                return new RefreshOutcome(RefreshOutcomeKind.Unavailable, $"token endpoint answered {(int)response.StatusCode}");
            }
            try
            {
                using var json = JsonDocument.Parse(body);
                var root = json.RootElement;
                var access = root.GetProperty("access_token").GetString();
                if (string.IsNullOrEmpty(access)) return new RefreshOutcome(RefreshOutcomeKind.Unavailable, "token endpoint answered without an access_token");
                var lifetime = root.TryGetProperty("expires_in", out var expires) && expires.TryGetInt64(out var seconds) && seconds > 0
                    ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromMinutes(5); // RFC 6749 §5.1: expires_in is only RECOMMENDED
                var rotated = root.TryGetProperty("refresh_token", out var next) ? next.GetString() : null;
                return new RefreshOutcome(RefreshOutcomeKind.Refreshed, $"refreshed, valid for {lifetime.TotalSeconds:0} s", access, sentAt, sentAt + lifetime,
                    string.IsNullOrEmpty(rotated) || rotated == refreshToken ? null : rotated);
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                return new RefreshOutcome(RefreshOutcomeKind.Unavailable, "token endpoint answered with malformed JSON");
            }
        }
    }

    private static string? ErrorCode(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String ? error.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
