using System.Buffers;
using System.Text;
using System.Text.Json;
using AnalysisFacility.Operator.Tokens.Jose;
using AnalysisFacility.Operator.Tokens.Keys;

namespace AnalysisFacility.Operator.Tokens.Issuance;

/// <summary>What a user's token is for.</summary>
/// <param name="UserName">Hub user name (grammar: Patterns.UserName); only its hash goes into the token.</param>
/// <param name="StoreName">Store directory name substituted for {user} in scopes.</param>
/// <param name="Groups">WLCG groups: select group scopes and go into wlcg.groups.</param>
/// <param name="Audiences">A subset of the facility's audiences; all of them when null.</param>
public sealed record TokenRequest(string UserName, string StoreName, IReadOnlyList<string> Groups, IReadOnlyList<string>? Audiences = null);

/// <summary>A signed token. <see cref="ToString"/> never shows the token itself.</summary>
public sealed record MintedToken(string Value, string KeyId, string Subject, string JwtId,
    DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt, IReadOnlyList<string> Scopes, IReadOnlyList<string> Audiences)
{
    /// <summary>When the controller must mint the next one (see <see cref="TokenLifetimes.NextRefreshAt"/>).</summary>
    public DateTimeOffset NextRefreshAt => TokenLifetimes.NextRefreshAt(IssuedAt, ExpiresAt);

    public override string ToString() => $"token {JwtId} for {Subject} (kid {KeyId}, expires {ExpiresAt:O})";
}

/// <summary>Mints WLCG Common JWT Profile 1.0 access tokens as compact JWS.</summary>
public static class TokenMinter
{
    /// <summary>Tokens travel in HTTP headers; the profile asks issuers to keep them small.</summary>
    public const int MaximumTokenLength = 2048;

    public static IssuanceResult<MintedToken> Mint(IssuerSettings settings, KeyRing ring, TokenRequest request, DateTimeOffset now)
    {
        var errors = new List<string>();
        if (!ScopeRules.IsValidUserName(request.UserName))
        {
            errors.Add($"user name '{ScopeRules.Printable(request.UserName ?? "")}' is not allowed; letters, digits and . _ @ + -, starting with a letter or digit, at most 64 characters");
        }
        if (!ScopeRules.IsValidStoreName(request.StoreName))
        {
            errors.Add($"store name '{ScopeRules.Printable(request.StoreName ?? "")}' is not allowed; a single path segment of letters, digits and . _ -, starting with a letter or digit");
        }
        foreach (var group in request.Groups)
        {
            if (!ScopeRules.IsValidGroup(group)) errors.Add($"group '{ScopeRules.Printable(group ?? "")}' is not a WLCG group such as /cms or /cms/higgs");
        }

        IReadOnlyList<string> audiences;
        if (settings.AllowAnyAudience && request.Audiences is null)
        {
            audiences = [IssuerSettings.AnyAudience];
        }
        else
        {
            audiences = request.Audiences ?? settings.Audiences;
            foreach (var audience in audiences.Where(a => !settings.Audiences.Contains(a, StringComparer.Ordinal)))
            {
                errors.Add($"audience '{ScopeRules.Printable(audience ?? "")}' is not one of the facility's audiences ({string.Join(", ", settings.Audiences)})");
            }
            if (audiences.Count == 0) errors.Add("no audience: the token would be accepted by no consumer");
        }
        if (errors.Count > 0) return IssuanceResult<MintedToken>.Fail(errors);

        var scopes = settings.ScopesFor(request.StoreName!, request.Groups);
        // Checked again after substitution: the final paths are what consumers prefix-match.
        errors.AddRange(scopes.Select(s => ScopeRules.Check(s, "scope")).OfType<string>());
        var active = ring.ActiveAt(now);
        if (active is null) errors.Add("no signing key is active; rotate the key ring first");
        if (errors.Count > 0) return IssuanceResult<MintedToken>.Fail(errors);

        return Sign(active!.Key, settings.Issuer, SubjectIds.For(settings.FacilityUid, request.UserName!), audiences, scopes, request.Groups, settings.Lifetime, now,
            "reduce the user's groups or scopes");
    }

    /// <summary>
    /// A token for a robot client (OAuth2 client-credentials grant): sub is the client id (RFC 9068 section 2.2),
    /// the scopes are already checked against the client's allowance, the lifetime is the client's.
    /// </summary>
    public static IssuanceResult<MintedToken> MintForClient(IssuerSettings settings, KeyRing ring, string clientId, IReadOnlyList<string> scopes,
        TimeSpan lifetime, DateTimeOffset now)
    {
        var active = ring.ActiveAt(now);
        if (active is null) return IssuanceResult<MintedToken>.Fail("no signing key is active; rotate the key ring first");
        IReadOnlyList<string> audiences = settings.AllowAnyAudience ? [IssuerSettings.AnyAudience] : settings.Audiences;
        return Sign(active.Key, settings.Issuer, clientId, audiences, scopes, [], lifetime, now, "ask for fewer scopes");
    }

    private static IssuanceResult<MintedToken> Sign(SigningKey key, string issuer, string subject, IReadOnlyList<string> audiences,
        IReadOnlyList<string> scopes, IReadOnlyList<string> groups, TimeSpan lifetime, DateTimeOffset now, string tooLongAdvice)
    {
        // Whole seconds, rounded down: consumers such as scitokens-cpp refuse a token whose iat is in their future.
        var issuedAt = DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds());
        var expiresAt = issuedAt + lifetime;
        var jwtId = Guid.NewGuid().ToString("D");

        var header = Json(w =>
        {
            w.WriteString("alg", key.Algorithm);
            w.WriteString("typ", "JWT");
            w.WriteString("kid", key.KeyId);
        });
        var claims = Json(w =>
        {
            w.WriteString("wlcg.ver", "1.0");
            w.WriteString("iss", issuer);
            w.WriteString("sub", subject);
            if (audiences.Count == 1) w.WriteString("aud", audiences[0]);
            else
            {
                w.WriteStartArray("aud");
                foreach (var audience in audiences) w.WriteStringValue(audience);
                w.WriteEndArray();
            }
            w.WriteNumber("iat", issuedAt.ToUnixTimeSeconds());
            w.WriteNumber("nbf", (issuedAt - TokenLifetimes.NotBeforeSkew).ToUnixTimeSeconds());
            w.WriteNumber("exp", expiresAt.ToUnixTimeSeconds());
            w.WriteString("jti", jwtId);
            w.WriteString("scope", string.Join(' ', scopes));
            if (groups.Count > 0)
            {
                w.WriteStartArray("wlcg.groups");
                foreach (var group in groups) w.WriteStringValue(group);
                w.WriteEndArray();
            }
        });

        var signingInput = Base64Url.Encode(header) + "." + Base64Url.Encode(claims);
        var signature = key.Sign(Encoding.ASCII.GetBytes(signingInput));
        var token = signingInput + "." + Base64Url.Encode(signature);
        if (token.Length >= MaximumTokenLength)
        {
            return IssuanceResult<MintedToken>.Fail($"the token would be {token.Length} bytes, over the {MaximumTokenLength}-byte limit; {tooLongAdvice}");
        }
        return IssuanceResult<MintedToken>.Ok(new MintedToken(token, key.KeyId, subject, jwtId, issuedAt, expiresAt, scopes, audiences));
    }

    private static byte[] Json(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        // Relaxed escaping keeps '/' and '+' literal; inputs are already restricted to safe characters.
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
