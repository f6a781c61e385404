using System.Net;
using System.Text.RegularExpressions;

namespace AnalysisFacility.Operator.Dev;

/// <summary>
/// What a person's browser does at a JupyterHub, through its public port: log in (form with the _xsrf token), start
/// a server from the spawn form, open it, stop it. `dev --once` shows the sample user's journey with it and the
/// journey test drives the real hub with it; it writes nothing but the forms a user fills in.
/// </summary>
public sealed partial class HubBrowser : IDisposable
{
    private readonly CookieContainer _cookies = new();
    private readonly HttpClient _http;
    private readonly Uri _hub;

    public HubBrowser(Uri hub)
    {
        _hub = hub;
        // Redirects are followed by hand: the hub's redirects say where a spawn stands.
        _http = new HttpClient(new HttpClientHandler { CookieContainer = _cookies, AllowAutoRedirect = false, UseProxy = false })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public Uri Hub => _hub;

    /// <summary>Logs in with the hub's login form; the reason the hub gives when it refuses.</summary>
    public async Task<string?> LoginAsync(string user, string password, CancellationToken ct)
    {
        var page = await GetAsync("hub/login", ct);
        using var response = await PostFormAsync("hub/login", new() { ["username"] = user, ["password"] = password, ["_xsrf"] = Xsrf(page.Body) }, ct);
        if (response.StatusCode == HttpStatusCode.Found && response.Headers.Location?.ToString().Contains("/hub/login", StringComparison.Ordinal) != true)
        {
            return null;
        }
        var body = await response.Content.ReadAsStringAsync(ct);
        return LoginError().Match(body) is { Success: true } m ? WebUtility.HtmlDecode(m.Groups[1].Value.Trim()) : $"login refused ({(int)response.StatusCode})";
    }

    /// <summary>The profiles the spawn form offers (option values).</summary>
    public async Task<IReadOnlyList<string>> ProfilesAsync(CancellationToken ct)
    {
        var page = await GetAsync("hub/spawn", ct);
        return [.. ProfileOption().Matches(page.Body).Select(m => m.Groups[1].Value)];
    }

    /// <summary>The profile the spawn form preselects (the facility's default), else its first; empty without a form.</summary>
    public async Task<string> DefaultProfileAsync(CancellationToken ct)
    {
        var options = ProfileOption().Matches((await GetAsync("hub/spawn", ct)).Body);
        return (options.FirstOrDefault(m => m.Groups[2].Success) ?? options.FirstOrDefault())?.Groups[1].Value ?? "";
    }

    /// <summary>Submits the spawn form with a profile; the hub answers with a redirect (pending, or the server).</summary>
    public async Task<string> SpawnAsync(string profile, CancellationToken ct)
    {
        var page = await GetAsync("hub/spawn", ct);
        using var response = await PostFormAsync("hub/spawn", new() { ["profile"] = profile, ["_xsrf"] = Xsrf(page.Body) }, ct);
        if (response.StatusCode != HttpStatusCode.Found)
        {
            throw new InvalidOperationException($"the spawn form was refused ({(int)response.StatusCode}): {SpawnError(await response.Content.ReadAsStringAsync(ct))}");
        }
        return response.Headers.Location!.ToString();
    }

    /// <summary>
    /// Opens the user's server at /user/NAME/api until it answers as a Jupyter server does; while the spawn runs the
    /// hub redirects to its pending page, and a failed spawn shows the reason there, which this returns as an error.
    /// </summary>
    public async Task<string> WaitForServerAsync(string user, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            var (status, body, location) = await GetAsync($"user/{user}/api", ct);
            if (status == HttpStatusCode.OK && body.Contains("\"version\"", StringComparison.Ordinal)) return body;
            if (location is not null)
            {
                var pending = await GetAsync($"hub/spawn-pending/{user}", ct);
                last = SpawnError(pending.Body);
                if (pending.Body.Contains("Spawn failed", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"the hub says the spawn failed: {last}");
                }
            }
            await Task.Delay(1000, ct);
        }
        throw new TimeoutException($"the server of {user} did not answer within {timeout} ({last})");
    }

    /// <summary>Whether the hub's home page shows a running server (its "Stop My Server" button).</summary>
    public async Task<bool> ServerActiveAsync(CancellationToken ct) => (await GetAsync("hub/home", ct)).Body.Contains("id=\"stop\"", StringComparison.Ordinal);

    /// <summary>The home page's "Stop My Server": DELETE on the hub API with the login cookie and its _xsrf token.</summary>
    public async Task StopAsync(string user, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, new Uri(_hub, $"hub/api/users/{user}/server"));
        request.Headers.Referrer = new Uri(_hub, "hub/home");
        if (_cookies.GetCookies(_hub).FirstOrDefault(c => c.Name == "_xsrf") is { } xsrf) request.Headers.Add("X-XSRFToken", xsrf.Value);
        using var response = await _http.SendAsync(request, ct);
        if (response.StatusCode is not (HttpStatusCode.NoContent or HttpStatusCode.Accepted))
        {
            throw new InvalidOperationException($"the hub refused to stop the server ({(int)response.StatusCode}): {await response.Content.ReadAsStringAsync(ct)}");
        }
    }

    private async Task<(HttpStatusCode Status, string Body, Uri? Location)> GetAsync(string path, CancellationToken ct)
    {
        using var response = await _http.GetAsync(new Uri(_hub, path), ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(ct), response.Headers.Location);
    }

    private async Task<HttpResponseMessage> PostFormAsync(string path, Dictionary<string, string> form, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_hub, path)) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Referrer = new Uri(_hub, path);
        return await _http.SendAsync(request, ct);
    }

    /// <summary>The form's _xsrf field (JupyterHub 4) or, when the page has none (3.0), the _xsrf cookie.</summary>
    private string Xsrf(string page) =>
        XsrfField().Match(page) is { Success: true } m ? WebUtility.HtmlDecode(m.Groups[1].Value)
        : _cookies.GetCookies(_hub).FirstOrDefault(c => c.Name == "_xsrf")?.Value ?? "";

    private static string SpawnError(string page) =>
        ErrorMessage().Match(page) is { Success: true } m
            ? WebUtility.HtmlDecode(TagPattern().Replace(m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value, " ")).Trim()
            : "";

    [GeneratedRegex("name=\"_xsrf\"\\s+value=\"([^\"]*)\"")]
    private static partial Regex XsrfField();

    [GeneratedRegex("<option value=\"([^\"]+)\"( selected)?")]
    private static partial Regex ProfileOption();

    [GeneratedRegex("class=\"login_error\">([^<]*)<")]
    private static partial Regex LoginError();

    // The spawn form's error (spawn.html) or a failed spawn's message (not_running.html), JupyterHub 3.0 and 4.1.
    [GeneratedRegex("spawn-error-msg[^\"]*\">(.*?)</p>|has failed\\.(.*?)Would you like", RegexOptions.Singleline)]
    private static partial Regex ErrorMessage();

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex TagPattern();

    public void Dispose() => _http.Dispose();
}
