using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace AnalysisFacility.Operator.Tokens.Discovery;

/// <summary>Serves every registered issuer's discovery document and JWKS, chosen by request path.</summary>
public static class IssuerEndpoints
{
    /// <summary>
    /// Maps <c>{issuer path}/.well-known/openid-configuration</c>, <c>/.well-known/oauth-authorization-server{issuer path}</c>
    /// (RFC 8414 form) and <c>{issuer path}/jwks</c>. The route is a catch-all, so more specific routes of the host win.
    /// </summary>
    public static IEndpointConventionBuilder MapIssuerEndpoints(this IEndpointRouteBuilder endpoints, IssuerRegistry registry) =>
        endpoints.MapMethods("/{**path}", ["GET", "HEAD"], (HttpContext context) => Serve(context, registry));

    private static Task Serve(HttpContext context, IssuerRegistry registry)
    {
        var path = context.Request.Path.Value ?? "";
        PublishedIssuer? issuer = null;
        byte[]? body = null;
        if (path.EndsWith(IssuerDocuments.DiscoverySuffix, StringComparison.Ordinal))
        {
            issuer = registry.FindByPath(path[..^IssuerDocuments.DiscoverySuffix.Length]);
            body = issuer?.Discovery;
        }
        else if (path.StartsWith(IssuerDocuments.OAuthMetadataPrefix, StringComparison.Ordinal))
        {
            issuer = registry.FindByPath(path[IssuerDocuments.OAuthMetadataPrefix.Length..]);
            body = issuer?.Discovery;
        }
        else if (path.EndsWith(IssuerDocuments.JwksSuffix, StringComparison.Ordinal))
        {
            issuer = registry.FindByPath(path[..^IssuerDocuments.JwksSuffix.Length]);
            body = issuer?.Jwks;
        }
        if (body is null)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        // Short enough that a successor key, published a lead time ahead, is always seen before it signs.
        context.Response.Headers.CacheControl = "public, max-age=300";
        context.Response.ContentLength = body.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : context.Response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }
}
