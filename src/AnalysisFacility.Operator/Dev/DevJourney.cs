using System.Text.Json.Nodes;
using AnalysisFacility.LocalCluster.Node;
using AnalysisFacility.Operator.Builders.Facility;

namespace AnalysisFacility.Operator.Dev;

/// <summary>
/// What `dev` tells a person about logging in to the sample facility, and what `dev --once` does as that person: log
/// in at the hub's Service address (the hub pod's configurable-http-proxy), start the default profile, open the
/// server. The user is the first one the facility's store mapping knows, so the session gets a store directory.
/// </summary>
public sealed record DevJourney(string Namespace, string Facility, string User)
{
    /// <summary>The facility of the applied samples and the user to try, or null when the samples have no hub.</summary>
    public static DevJourney? From(IEnumerable<JsonObject> objects)
    {
        var facility = objects.FirstOrDefault(o => o["kind"]?.GetValue<string>() == "AnalysisFacility"
                                                   && o["spec"]?["hub"]?["enabled"]?.GetValue<bool>() != false);
        if (facility is null) return null;
        var user = facility["spec"]?["userStore"]?["users"]?.AsArray().Select(u => u?["user"]?.GetValue<string>()).FirstOrDefault(u => u is not null)
                   ?? "physicist@example.org";
        return new DevJourney(facility["metadata"]!["namespace"]!.GetValue<string>(), facility["metadata"]!["name"]!.GetValue<string>(), user);
    }

    /// <summary>The hub as a browser on this machine reaches it: the hub Service's address, served by the node's proxy.</summary>
    public Uri? HubUrl(LocalNode node) =>
        node.ServiceAddress(Namespace, new FacilityNames(Facility).Hub) is { } address ? new Uri($"http://{address}/") : null;

    public string LoginHint(LocalNode node) => HubUrl(node) is { } hub
        ? $"Log in: {hub}hub/login as {User} (dummy login: any password), then start the default profile."
        : "The hub Service has no address yet.";

    /// <summary>Logs in, starts the default profile and waits for the server: a line saying what happened.</summary>
    public async Task<(bool Spawned, string Report)> SpawnAsync(LocalNode node, TimeSpan timeout, CancellationToken ct)
    {
        if (HubUrl(node) is not { } hub) return (false, "The hub Service has no address: no notebook was started.");
        using var browser = new HubBrowser(hub);
        try
        {
            if (await browser.LoginAsync(User, "dev", ct) is { } refused) return (false, $"Login as {User} refused: {refused}");
            await browser.SpawnAsync(await browser.DefaultProfileAsync(ct), ct);
            var api = await browser.WaitForServerAsync(User, timeout, ct);
            return (true, $"Logged in as {User} at {hub}hub/login and started the default profile: the notebook server answers at {hub}user/{User}/api ({api.Trim()}).");
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or HttpRequestException or TaskCanceledException)
        {
            return (false, $"Logged in as {User} at {hub}hub/login, but no notebook server answered: {e.Message}");
        }
    }
}
