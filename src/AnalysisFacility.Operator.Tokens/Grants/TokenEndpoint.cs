using System.Text.Json;
using AnalysisFacility.Operator.Tokens.Discovery;
using AnalysisFacility.Operator.Tokens.Issuance;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Serilog;

namespace AnalysisFacility.Operator.Tokens.Grants;

/// <summary>
/// POST {issuer path}/token: the client-credentials grant for an issuer's registered robots (RFC 6749 sections 4.4
/// and 5). Answers are JSON with Cache-Control: no-store; failures are logged with the client id and reason, never a
/// secret, and rate-limited per client id and per remote address.
/// </summary>
public static class TokenEndpoint
{
    public static IEndpointConventionBuilder MapTokenEndpoint(this IEndpointRouteBuilder endpoints, IssuerRegistry registry,
        FailedAuthenticationLimiter limiter, ILogger log, TimeProvider? time = null) =>
        endpoints.MapPost("/{**path}", (HttpContext context) => HandleAsync(context, registry, limiter, log, time ?? TimeProvider.System));

    private static async Task HandleAsync(HttpContext context, IssuerRegistry registry, FailedAuthenticationLimiter limiter, ILogger log, TimeProvider time)
    {
        var path = context.Request.Path.Value ?? "";
        var issuer = path.EndsWith(IssuerDocuments.TokenSuffix, StringComparison.Ordinal)
            ? registry.FindByPath(path[..^IssuerDocuments.TokenSuffix.Length])
            : null;
        if (issuer?.Robots is not { } robots || !context.Request.IsHttps)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        if (!context.Request.HasFormContentType)
        {
            await WriteAsync(context, new OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded", 400), null);
            return;
        }
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var fields = form.Where(f => f.Value.Count == 1).ToDictionary(f => f.Key, f => f.Value.ToString(), StringComparer.Ordinal);
        if (form.Any(f => f.Value.Count > 1))
        {
            await WriteAsync(context, new OAuthError("invalid_request", "a parameter is repeated", 400), null);
            return;
        }

        var address = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        var decision = ClientCredentialsGrant.Decide(fields, context.Request.Headers.Authorization.ToString() is { Length: > 0 } a ? a : null, robots.Clients);
        var clientKey = "client:" + (decision.AttemptedClientId ?? "");
        var wait = Max(limiter.RetryAfter("addr:" + address), limiter.RetryAfter(clientKey));
        if (wait is { } retry)
        {
            log.Warning("Token request for client {ClientId} from {Address} at {Issuer} refused: too many failed authentications", Printable(decision.AttemptedClientId), address, issuer.Issuer);
            context.Response.Headers.RetryAfter = Math.Ceiling(retry.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await WriteAsync(context, new OAuthError("temporarily_unavailable", "too many failed client authentications; retry later", 429), null);
            return;
        }
        if (decision.Error is { } error)
        {
            if (error.Code == "invalid_client")
            {
                limiter.RecordFailure("addr:" + address);
                limiter.RecordFailure(clientKey);
            }
            log.Warning("Token request for client {ClientId} from {Address} at {Issuer} refused: {Error} ({Description})",
                Printable(decision.AttemptedClientId), address, issuer.Issuer, error.Code, error.Description);
            await WriteAsync(context, error, null);
            return;
        }

        var client = decision.Client!;
        var minted = TokenMinter.MintForClient(robots.Settings, robots.Ring, client.ClientId, decision.Scopes, client.Lifetime, time.GetUtcNow());
        if (!minted.Succeeded)
        {
            log.Error("Token for client {ClientId} at {Issuer} could not be minted: {Errors}", client.ClientId, issuer.Issuer, string.Join("; ", minted.Errors));
            await WriteAsync(context, new OAuthError("server_error", "the issuer cannot sign tokens right now", 500), null);
            return;
        }
        var token = minted.Value!;
        log.Information("Issued {Token} to robot client {ClientId} with scopes {Scopes}", token.ToString(), client.ClientId, string.Join(' ', token.Scopes));
        await WriteAsync(context, null, w =>
        {
            w.WriteString("access_token", token.Value);
            w.WriteString("token_type", "Bearer");
            w.WriteNumber("expires_in", (long)(token.ExpiresAt - token.IssuedAt).TotalSeconds);
            w.WriteString("scope", string.Join(' ', token.Scopes));
        });
    }

    private static async Task WriteAsync(HttpContext context, OAuthError? error, Action<Utf8JsonWriter>? body)
    {
        context.Response.StatusCode = error?.Status ?? StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        // RFC 6749 section 5.1: token responses must not be cached.
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.Pragma = "no-cache";
        if (error is { Status: 401 }) context.Response.Headers.WWWAuthenticate = "Basic realm=\"token\"";
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (error is not null)
            {
                writer.WriteString("error", error.Code);
                writer.WriteString("error_description", error.Description);
            }
            body?.Invoke(writer);
            writer.WriteEndObject();
        }
        await context.Response.Body.WriteAsync(buffer.ToArray(), context.RequestAborted);
    }

    private static string Printable(string? clientId) => clientId is null ? "(none)" : ScopeRules.Printable(clientId.Length > 64 ? clientId[..64] : clientId);

    private static TimeSpan? Max(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : a > b ? a : b;
}
