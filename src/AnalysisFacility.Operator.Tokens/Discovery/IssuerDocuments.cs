using System.Buffers;
using System.Text.Json;
using AnalysisFacility.Operator.Tokens.Keys;

namespace AnalysisFacility.Operator.Tokens.Discovery;

/// <summary>The documents consumers fetch: OpenID discovery (RFC 8414 / OIDC Discovery) and the JWKS (RFC 7517).</summary>
public static class IssuerDocuments
{
    public const string DiscoverySuffix = "/.well-known/openid-configuration";
    public const string OAuthMetadataPrefix = "/.well-known/oauth-authorization-server";
    public const string JwksSuffix = "/jwks";
    public const string TokenSuffix = "/token";

    public static string JwksUri(string issuer) => issuer + JwksSuffix;

    public static byte[] Discovery(string issuer, KeyRing ring, bool tokenEndpoint = false) => Write(w =>
    {
        w.WriteString("issuer", issuer);
        w.WriteString("jwks_uri", JwksUri(issuer));
        if (tokenEndpoint)
        {
            // RFC 8414 section 2: where robots get tokens, with which grant and client authentication.
            w.WriteString("token_endpoint", issuer + TokenSuffix);
            WriteArray(w, "grant_types_supported", [Grants.ClientCredentialsGrant.GrantType]);
            WriteArray(w, "token_endpoint_auth_methods_supported", ["client_secret_basic", "client_secret_post"]);
        }
        WriteArray(w, "id_token_signing_alg_values_supported", ring.PublishedKeys.Select(k => k.Algorithm).Distinct().Order());
        WriteArray(w, "token_signing_alg_values_supported", ring.PublishedKeys.Select(k => k.Algorithm).Distinct().Order());
        WriteArray(w, "subject_types_supported", ["public"]);
        WriteArray(w, "scopes_supported", Issuance.ScopeRules.StorageScopes.Concat(Issuance.ScopeRules.ComputeScopes));
        WriteArray(w, "claims_supported", ["sub", "iss", "aud", "exp", "iat", "nbf", "jti", "scope", "wlcg.ver", "wlcg.groups"]);
    });

    public static byte[] Jwks(KeyRing ring) => Write(w =>
    {
        w.WriteStartArray("keys");
        foreach (var key in ring.PublishedKeys) key.WritePublicJwk(w);
        w.WriteEndArray();
    });

    private static void WriteArray(Utf8JsonWriter writer, string name, IEnumerable<string> values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values) writer.WriteStringValue(value);
        writer.WriteEndArray();
    }

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}
