using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.IntegrationTests.XCache;

namespace AnalysisFacility.Operator.IntegrationTests.Support;

/// <summary>What the experiment's IAM is set up with: the storage scopes it grants and the audience its tokens may carry.</summary>
/// <param name="Scopes">Scopes clients and users may get (besides openid), e.g. storage.read:/store.</param>
/// <param name="Audience">The resource (RFC 8707) every scope may be issued for; glewlwyd puts it in "aud" when asked.</param>
/// <param name="AccessTokenLifetime">Lifetime of its access tokens.</param>
public sealed record GlewlwydOptions(IReadOnlyList<string> Scopes, string Audience, TimeSpan AccessTokenLifetime);

/// <summary>An access token from the provider, with the refresh token when the grant returns one.</summary>
public sealed record GlewlwydTokens(string AccessToken, string? RefreshToken, long ExpiresIn);

/// <summary>
/// Debian's glewlwyd 2.7.5, a real OpenID Connect provider, run on 127.0.0.1 over HTTPS as "the experiment's IAM"
/// (/work/shared/notes/facility-facts.md, "glewlwyd 2.7.5"). It starts from the shipped sqlite database (admin/password)
/// in a directory of its own, and is configured over its admin REST API: the OIDC plugin with an ES256 key, the
/// storage scopes, then the clients and users a test adds. Its tokens carry <c>wlcg.ver</c> (a client property copied
/// into the token through the plugin's additional parameters), without which scitokens-cpp reads them under the
/// SciTokens 1.0 profile and ignores WLCG storage scopes. Dispose stops the server and removes the directory.
/// </summary>
internal sealed class Glewlwyd : IAsyncDisposable
{
    private const string AdminUser = "admin";
    // The password of the admin account in Debian's init.sqlite3.sql (a test-only database).
    private const string AdminPassword = "password";
    private const string ClientVersionProperty = "wlcg_ver";
    private readonly TestProcess _process;
    private readonly HttpClient _http;
    private readonly string _directory;

    private Glewlwyd(TestProcess process, HttpClient http, string directory, LoopbackTls tls, int port)
    {
        _process = process;
        _http = http;
        _directory = directory;
        Tls = tls;
        BaseUrl = $"https://127.0.0.1:{port}";
    }

    public string BaseUrl { get; }
    /// <summary>The issuer, exactly as its tokens carry it in "iss" (the OIDC plugin's prefix under the external URL).</summary>
    public string Issuer => BaseUrl + "/api/oidc";
    public string TokenEndpoint => Issuer + "/token";
    public string RevocationEndpoint => Issuer + "/revoke";
    /// <summary>The test CA that signed the server certificate (also usable for other loopback TLS servers).</summary>
    public LoopbackTls Tls { get; }
    public string CaBundlePath => Path.Combine(Tls.Directory, "ca.crt");
    public string Output => _process.Output;

    public static async Task<Glewlwyd> StartAsync(GlewlwydOptions options, CancellationToken cancellationToken)
    {
        var directory = Directory.CreateTempSubdirectory("glewlwyd-it-").FullName;
        var tls = await LoopbackTls.CreateAsync(Path.Combine(directory, "tls"), cancellationToken);
        var database = Path.Combine(directory, "glewlwyd.db");
        var initScript = Path.Combine(directory, "init.sql");
        await using (var compressed = File.OpenRead("/usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz"))
        await using (var gzip = new GZipStream(compressed, CompressionMode.Decompress))
        await using (var script = File.Create(initScript))
        {
            await gzip.CopyToAsync(script, cancellationToken);
        }
        var init = await TestProcess.RunAsync(Programs.Require("sqlite3"), [database, ".read " + initScript], cancellationToken: cancellationToken);
        init.ExitCode.Should().Be(0, init.Output);

        var port = Ports.GetFree();
        var config = Path.Combine(directory, "glewlwyd.conf");
        await File.WriteAllTextAsync(config, Config(port, Path.Combine(tls.Directory, "tls.key"), Path.Combine(tls.Directory, "tls.crt"), database), cancellationToken);
        var process = TestProcess.Start(Programs.Require("glewlwyd"), ["-c", config], directory, name: "glewlwyd");
        HttpClient? http = null;
        try
        {
            await XrootdTree.WaitForPortAsync(process, port);
            http = TrustingClient(tls.CaPem);
            var provider = new Glewlwyd(process, http, directory, tls, port);
            await provider.ConfigureAsync(options, cancellationToken);
            return provider;
        }
        catch
        {
            http?.Dispose();
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>Adds a confidential client that authenticates with HTTP Basic (client_secret_basic).</summary>
    public Task AddClientAsync(string clientId, string secret, IReadOnlyList<string> scopes, IReadOnlyList<string> grantTypes, CancellationToken cancellationToken,
        string? redirectUri = null) =>
        AdminAsync(HttpMethod.Post, "/api/client/", new JsonObject
        {
            ["client_id"] = clientId,
            ["name"] = clientId,
            ["enabled"] = true,
            ["confidential"] = true,
            ["password"] = secret,
            ["scope"] = Array(scopes),
            ["authorization_type"] = Array(grantTypes),
            // Without an authentication method every token request of a confidential client gets 403.
            ["token_endpoint_auth_method"] = Array(["client_secret_basic"]),
            ["redirect_uri"] = Array(redirectUri is null ? [] : [redirectUri]),
            [ClientVersionProperty] = "1.0",
        }, cancellationToken);

    /// <summary>Adds a user of the database backend with a password and the scopes it may consent to.</summary>
    public Task AddUserAsync(string username, string password, IReadOnlyList<string> scopes, CancellationToken cancellationToken) =>
        AdminAsync(HttpMethod.Post, "/api/user/", new JsonObject
        {
            ["username"] = username,
            ["name"] = username,
            ["password"] = password,
            ["enabled"] = true,
            ["scope"] = Array(scopes),
        }, cancellationToken);

    /// <summary>The client-credentials grant for <paramref name="resource"/> (RFC 8707), which becomes the token's "aud".</summary>
    public Task<GlewlwydTokens> ClientCredentialsAsync(string clientId, string secret, string scope, string? resource, CancellationToken cancellationToken) =>
        TokenAsync(clientId, secret, Form(("grant_type", "client_credentials"), ("scope", scope), ("resource", resource)), cancellationToken);

    /// <summary>The resource-owner password grant: the test's stand-in for a browser login (authorization code flow).</summary>
    public Task<GlewlwydTokens> PasswordAsync(string clientId, string secret, string username, string password, string scope, CancellationToken cancellationToken) =>
        TokenAsync(clientId, secret, Form(("grant_type", "password"), ("username", username), ("password", password), ("scope", scope)), cancellationToken);

    /// <summary>Revokes a token (RFC 7009) as the client it was issued to.</summary>
    public async Task RevokeAsync(string clientId, string secret, string token, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, RevocationEndpoint)
        {
            Content = new FormUrlEncodedContent(Form(("token", token), ("token_type_hint", "refresh_token"))),
        };
        request.Headers.Authorization = Basic(clientId, secret);
        using var response = await _http.SendAsync(request, cancellationToken);
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _process.StopAsync(TimeSpan.FromSeconds(5));
        await _process.DisposeAsync();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }

    private async Task ConfigureAsync(GlewlwydOptions options, CancellationToken cancellationToken)
    {
        using (var login = await _http.PostAsJsonAsync(BaseUrl + "/api/auth/", new { username = AdminUser, password = AdminPassword }, cancellationToken))
        {
            login.StatusCode.Should().Be(HttpStatusCode.OK, await login.Content.ReadAsStringAsync(cancellationToken));
        }

        // The database client backend stores only the properties its data-format lists: add the one copied into tokens.
        var clientModule = JsonNode.Parse(await _http.GetStringAsync(BaseUrl + "/api/mod/client/database", cancellationToken))!.AsObject();
        clientModule.Remove("enabled");
        clientModule["parameters"]!["data-format"]![ClientVersionProperty] = new JsonObject { ["multiple"] = false, ["read"] = true, ["write"] = true };
        await AdminAsync(HttpMethod.Put, "/api/mod/client/database", clientModule, cancellationToken);
        await AdminAsync(HttpMethod.Put, "/api/mod/client/database/disable", null, cancellationToken);
        await AdminAsync(HttpMethod.Put, "/api/mod/client/database/enable", null, cancellationToken);

        foreach (var scope in options.Scopes)
        {
            await AdminAsync(HttpMethod.Post, "/api/scope/", new JsonObject
            {
                ["name"] = scope, ["display_name"] = scope, ["description"] = "storage access " + scope, ["password_required"] = false, ["scheme"] = new JsonObject(),
            }, cancellationToken);
        }

        using var signingKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var resources = new JsonObject();
        foreach (var scope in options.Scopes) resources[scope] = Array([options.Audience]);
        await AdminAsync(HttpMethod.Post, "/api/mod/plugin/", new JsonObject
        {
            ["module"] = "oidc",
            ["name"] = "oidc",
            ["display_name"] = "Experiment IAM",
            ["parameters"] = new JsonObject
            {
                ["iss"] = Issuer,
                ["jwt-type"] = "ecdsa",
                ["jwt-key-size"] = "256",
                ["key"] = signingKey.ExportPkcs8PrivateKeyPem(),
                ["cert"] = signingKey.ExportSubjectPublicKeyInfoPem(),
                ["access-token-duration"] = (int)options.AccessTokenLifetime.TotalSeconds,
                ["refresh-token-duration"] = 3600,
                ["code-duration"] = 600,
                ["refresh-token-rolling"] = false,
                ["refresh-token-one-use"] = "never",
                ["allow-non-oidc"] = true,
                ["auth-type-code-enabled"] = true,
                ["auth-type-token-enabled"] = false,
                ["auth-type-id-token-enabled"] = true,
                ["auth-type-none-enabled"] = false,
                ["auth-type-password-enabled"] = true,
                ["auth-type-client-enabled"] = true,
                ["auth-type-device-enabled"] = false,
                ["auth-type-refresh-enabled"] = true,
                ["scope"] = new JsonArray(),
                ["additional-parameters"] = new JsonArray(new JsonObject { ["client-parameter"] = ClientVersionProperty, ["token-parameter"] = "wlcg.ver" }),
                ["claims"] = new JsonArray(),
                ["jwks-show"] = true,
                ["jwks-x5c"] = new JsonArray(),
                ["request-parameter-allow"] = false,
                ["secret-type"] = "pairwise",
                ["address-claim"] = new JsonObject { ["type"] = "no", ["mandatory"] = false },
                ["name-claim"] = "no",
                ["email-claim"] = "no",
                ["scope-claim"] = "no",
                ["allowed-scope"] = Array(["openid", .. options.Scopes]),
                ["pkce-allowed"] = false,
                ["introspection-revocation-allowed"] = true,
                ["introspection-revocation-auth-scope"] = new JsonArray(),
                ["introspection-revocation-allow-target-client"] = true,
                ["register-client-allowed"] = false,
                ["session-management-allowed"] = false,
                ["encrypt-out-token-allow"] = false,
                // "aud" is the scope list unless the client names a resource allowed for its scopes.
                ["resource-allowed"] = true,
                ["resource-scope"] = resources,
                ["resource-client-property"] = "",
                ["resource-scope-and-client-property"] = false,
                ["resource-change-allowed"] = false,
                ["oauth-dpop-allowed"] = false,
                ["oauth-rar-allowed"] = false,
                ["oauth-par-allowed"] = false,
            },
        }, cancellationToken);
    }

    private async Task<GlewlwydTokens> TokenAsync(string clientId, string secret, IEnumerable<KeyValuePair<string, string>> form, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, TokenEndpoint) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = Basic(clientId, secret);
        using var response = await _http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        response.StatusCode.Should().Be(HttpStatusCode.OK, $"token endpoint answered {body}\nglewlwyd:\n{_process.Output}");
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        return new GlewlwydTokens(root.GetProperty("access_token").GetString()!,
            root.TryGetProperty("refresh_token", out var refresh) ? refresh.GetString() : null,
            root.GetProperty("expires_in").GetInt64());
    }

    private async Task AdminAsync(HttpMethod method, string path, JsonNode? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, BaseUrl + path);
        if (body is not null) request.Content = JsonContent.Create(body);
        using var response = await _http.SendAsync(request, cancellationToken);
        response.StatusCode.Should().Be(HttpStatusCode.OK, $"{method} {path}: {await response.Content.ReadAsStringAsync(cancellationToken)}\nglewlwyd:\n{_process.Output}");
    }

    private static HttpClient TrustingClient(string caPem)
    {
        var ca = X509Certificate2.CreateFromPem(caPem);
        var handler = new SocketsHttpHandler
        {
            CookieContainer = new CookieContainer(),
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    if (certificate is null) return false;
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    using var server = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    return chain.Build(server);
                },
            },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
    }

    private static string Config(int port, string keyFile, string certificateFile, string database) => $"""
        # glewlwyd on loopback for tests; libconfig syntax, after /etc/glewlwyd/glewlwyd.conf.
        port={port}
        bind_address="127.0.0.1"
        external_url="https://127.0.0.1:{port}"
        login_url="login.html"
        api_prefix="api"
        allow_origin="*"
        log_mode="console"
        log_level="INFO"
        cookie_secure=0
        cookie_same_site="empty"
        session_expiration=3600
        session_key="GLEWLWYD2_SESSION_ID"
        admin_session_authentication="cookie"
        profile_session_authentication="cookie"
        allow_multiple_user_per_session=true
        login_api_enabled=true
        admin_scope="g_admin"
        profile_scope="g_profile"
        user_module_path="/usr/lib/glewlwyd/user"
        client_module_path="/usr/lib/glewlwyd/client"
        user_auth_scheme_module_path="/usr/lib/glewlwyd/scheme"
        plugin_module_path="/usr/lib/glewlwyd/plugin"
        use_secure_connection=true
        secure_connection_key_file="{keyFile}"
        secure_connection_pem_file="{certificateFile}"
        hash_algorithm="SHA512"
        database = {"{"} type = "sqlite3" path = "{database}" {"}"};
        """;

    /// <summary>The payload of a JWT access token (not verified: for asserting on claims in tests).</summary>
    public static JsonObject Claims(string jwt)
    {
        var payload = jwt.Split('.')[1].Replace('-', '+').Replace('_', '/');
        payload = payload.PadRight(payload.Length + (4 - payload.Length % 4) % 4, '=');
        return JsonNode.Parse(Convert.FromBase64String(payload))!.AsObject();
    }

    private static JsonArray Array(IEnumerable<string> values) => new([.. values.Select(v => (JsonNode)JsonValue.Create(v))]);

    private static IEnumerable<KeyValuePair<string, string>> Form(params (string Key, string? Value)[] fields) =>
        fields.Where(f => f.Value is not null).Select(f => KeyValuePair.Create(f.Key, f.Value!));

    private static AuthenticationHeaderValue Basic(string clientId, string secret) =>
        new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(clientId)}:{Uri.EscapeDataString(secret)}")));
}
