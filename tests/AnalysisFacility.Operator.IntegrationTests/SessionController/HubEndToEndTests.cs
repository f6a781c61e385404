using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AnalysisFacility.Operator.Builders.Sessions;
using AnalysisFacility.Operator.IntegrationTests.Support;
using k8s.Models;
using static AnalysisFacility.Operator.IntegrationTests.SessionController.SessionTestBed;

namespace AnalysisFacility.Operator.IntegrationTests.SessionController;

/// <summary>
/// Issue 5 "Hub integration": the real Debian jupyterhub with the chart's spawner module, the operator and the
/// control plane. The test plays kubelet: it marks the pod ready at 127.0.0.1 and runs the real
/// jupyterhub-singleuser with the environment the spawner put into the hub-env Secret.
/// </summary>
[Collection(ControlPlaneCollection.Name)]
public sealed class HubEndToEndTests(ControlPlaneFixture fixture)
{
    [Fact]
    public async Task Hub_login_and_spawn_create_a_session_the_spawner_returns_its_url_and_stop_deletes_it()
    {
        var bed = await CreateAsync(fixture, "sess-hub", edit: spec => spec.Hub.Authentication = new Api.V1Alpha1.HubAuthentication { Type = "dummy" });
        await using var harness = await OperatorHarness.StartAsync(fixture, [bed.Namespace]);
        var directory = Path.Combine(Path.GetTempPath(), "hub-e2e-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var (publicPort, hubPort, proxyApiPort) = (Ports.GetFree(), Ports.GetFree(), Ports.GetFree());
            // The hub's own ServiceAccount and RBAC, as the HubBuilder makes them (no admin credentials for the spawner).
            var (serviceAccount, _) = await SpawnerClusterTests.HubServiceAccountAsync(fixture, bed, Sessions.SpawnerHarness.Materialise(bed.Facility, directory), directory);
            var apiToken = Convert.ToHexString(Guid.NewGuid().ToByteArray());
            var config = $$"""
                c.JupyterHub.authenticator_class = "dummy"
                c.JupyterHub.spawner_class = "analysisfacility_spawner.UserSessionSpawner"
                c.JupyterHub.ip = "127.0.0.1"
                c.JupyterHub.port = {{publicPort}}
                c.JupyterHub.hub_ip = "127.0.0.1"
                c.JupyterHub.hub_port = {{hubPort}}
                c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{{proxyApiPort}}"
                c.JupyterHub.db_url = "sqlite:///{{directory}}/jupyterhub.sqlite"
                c.JupyterHub.cookie_secret_file = "{{directory}}/cookie_secret"
                c.JupyterHub.pid_file = "{{directory}}/jupyterhub.pid"
                c.JupyterHub.services = [{"name": "tester", "api_token": "{{apiToken}}"}]
                c.JupyterHub.load_roles = [{"name": "tester", "scopes": ["admin:users", "admin:servers"], "services": ["tester"]}]
                c.UserSessionSpawner.facility_name = "{{FacilityName}}"
                c.UserSessionSpawner.facility_namespace = "{{bed.Namespace}}"
                c.UserSessionSpawner.service_account_dir = "{{serviceAccount}}"
                c.UserSessionSpawner.poll_seconds = 0.5
                c.Spawner.http_timeout = 60
                """;
            var configPath = Path.Combine(directory, "jupyterhub_config.py");
            await File.WriteAllTextAsync(configPath, config);
            var filesDirectory = Path.GetDirectoryName(Sessions.SpawnerModuleTests.ModulePath)!;
            await using var hub = TestProcess.Start(Programs.Require("jupyterhub"), ["--config", configPath], directory, new Dictionary<string, string>
            {
                ["PYTHONPATH"] = filesDirectory,
                ["NODE_PATH"] = "/usr/share/nodejs:/usr/lib/nodejs",
                ["CONFIGPROXY_AUTH_TOKEN"] = Convert.ToHexString(Guid.NewGuid().ToByteArray()),
                ["KUBERNETES_SERVICE_HOST"] = "127.0.0.1",
                ["KUBERNETES_SERVICE_PORT"] = fixture.Plane.ApiServerPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }, name: "jupyterhub");

            using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() })
            {
                BaseAddress = new Uri($"http://127.0.0.1:{publicPort}"),
            };
            await hub.WaitUntilAsync(async () => (await http.GetAsync("/hub/api")).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(60), "hub up");

            // Dummy login, then /hub/spawn starts the server through the UserSessionSpawner.
            var page = await (await http.GetAsync("/hub/login")).Content.ReadAsStringAsync();
            var form = new Dictionary<string, string> { ["username"] = MappedUser, ["password"] = "any" };
            var xsrf = Regex.Match(page, "name=\"_xsrf\" value=\"([^\"]+)\"");
            if (xsrf.Success) form["_xsrf"] = WebUtility.HtmlDecode(xsrf.Groups[1].Value);
            var login = await http.PostAsync("/hub/login?next=", new FormUrlEncodedContent(form));
            login.StatusCode.Should().Be(HttpStatusCode.Found, hub.Output);
            var spawn = await http.GetAsync("/hub/spawn");
            ((int)spawn.StatusCode).Should().BeLessThan(400, hub.Output);

            // The operator makes the session's pod; play kubelet and run the notebook server it describes.
            await Eventually.TrueAsync(async () => await bed.GetAsync<V1Pod>(PodName(MappedUser)) is not null, TimeSpan.FromSeconds(60), "session pod created via the hub");
            var session = (await bed.SessionAsync(MappedUser))!;
            session.Spec.HubEnvSecretName.Should().NotBeNull();
            V1Secret? hubEnv = null;
            await Eventually.TrueAsync(async () => (hubEnv = await bed.GetAsync<V1Secret>(session.Spec.HubEnvSecretName!)) is not null, TimeSpan.FromSeconds(30), "hub env Secret");
            var environment = hubEnv!.Data.ToDictionary(kv => kv.Key, kv => Encoding.UTF8.GetString(kv.Value));
            environment["HOME"] = directory;
            environment["JUPYTER_RUNTIME_DIR"] = Path.Combine(directory, "runtime");
            await using var notebook = TestProcess.Start(Programs.Require("jupyterhub-singleuser"),
                ["--ip=127.0.0.1", $"--port={SessionBuilder.NotebookPort}", "--allow-root"], directory, environment, name: "singleuser");
            await Kubelet.MarkPodReadyAsync(fixture.Api, bed.Namespace, PodName(MappedUser), "127.0.0.1");

            // The spawner returns the session's URL: the hub reports the server ready at it.
            using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{publicPort}") };
            api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("token", apiToken);
            JsonElement server = default;
            await hub.WaitUntilAsync(async () =>
            {
                using var user = JsonDocument.Parse(await api.GetStringAsync($"/hub/api/users/{MappedUser}"));
                if (!user.RootElement.GetProperty("servers").TryGetProperty("", out var s) || !s.GetProperty("ready").GetBoolean()) return false;
                server = s.Clone();
                return true;
            }, TimeSpan.FromSeconds(90), "hub reports alice's server ready\n" + notebook.Output);
            (await bed.SessionAsync(MappedUser))!.Status.ServerUrl.Should().Be($"http://127.0.0.1:{SessionBuilder.NotebookPort}");
            var through = await http.GetAsync($"/user/{MappedUser}/api/status");
            ((int)through.StatusCode).Should().BeLessThan(500, "the proxy routes to the notebook server");

            // Stopping the server deletes the UserSession.
            (await api.DeleteAsync($"/hub/api/users/{MappedUser}/server")).IsSuccessStatusCode.Should().BeTrue();
            await Eventually.TrueAsync(async () => await bed.SessionAsync(MappedUser) is null, TimeSpan.FromSeconds(60), "UserSession deleted on stop");
            _ = server;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
