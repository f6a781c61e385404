using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Facility;
using AnalysisFacility.Operator.IntegrationTests.Support;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.IntegrationTests.Facility;

/// <summary>
/// The generated jupyterhub_config.py loaded by the real Debian jupyterhub 3.0 on loopback. The local-run variant
/// swaps the UserSession spawner (which needs the operator) for jupyterhub.spawner.SimpleLocalProcessSpawner and
/// the idle culler (not packaged here) for a stand-in script that uses the culler's service token and role.
/// </summary>
public sealed class JupyterHubConfigTests : IDisposable
{
    private const string Python = "/usr/bin/python3";
    /// <summary>Debian's configurable-http-proxy loads its modules from here; a non-Debian node build does not look there.</summary>
    private const string DebianNodeModules = "/usr/share/nodejs:/usr/lib/nodejs";
    private readonly string _directory = Directory.CreateTempSubdirectory("af-hub-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static FacilityResource Facility(Action<HubSpec> configure)
    {
        var facility = new FacilityResource
        {
            Metadata = new V1ObjectMeta { Name = "cms-af", NamespaceProperty = "cmsaf" },
            Spec = new AnalysisFacilitySpec { Tokens = new TokenIssuerSpec { Issuer = "https://cmsaf-jh.unl.edu/issuer" } },
        };
        facility.Spec.Hub.Profiles =
        [
            new SessionProfile { Name = "small", Image = "coffeateam/coffea-casa-analysis:latest", Cores = "2", Memory = "4Gi" },
            new SessionProfile { Name = "gpu", Image = "coffeateam/coffea-casa-analysis:latest", Cores = "4", Memory = "16Gi", Gpus = 1, Default = true },
        ];
        configure(facility.Spec.Hub);
        return facility;
    }

    [Fact]
    public async Task Dummy_hub_serves_its_api_logs_users_in_and_grants_the_culler_its_role()
    {
        var facility = Facility(hub =>
        {
            hub.Authentication = new HubAuthentication { Type = "dummy" };
            hub.AdminUsers = ["admin@cern.ch"];
            hub.Culling = new CullingSpec { Enabled = true, Timeout = "1h", Every = "1m", MaxAge = "0s" };
        });
        var cullerReport = Path.Combine(_directory, "culler.json");
        var cullerScript = Path.Combine(_directory, "culler_stand_in.py");
        // Stand-in for jupyterhub-idle-culler: lists users with the token and scopes the hub gave the service.
        await File.WriteAllTextAsync(cullerScript, $$"""
            import json, os, sys, time, urllib.request
            request = urllib.request.Request(os.environ["JUPYTERHUB_API_URL"] + "/users",
                                             headers={"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]})
            try:
                status = urllib.request.urlopen(request).status
            except urllib.error.HTTPError as error:
                status = error.code
            with open({{JsonSerializer.Serialize(cullerReport)}} + ".tmp", "w") as out:
                json.dump({"status": status, "argv": sys.argv[1:]}, out)
            os.rename({{JsonSerializer.Serialize(cullerReport)}} + ".tmp", {{JsonSerializer.Serialize(cullerReport)}})
            time.sleep(3600)
            """);
        var publicPort = Ports.GetFree();
        var runtime = HubRuntime.LocalRun(facility, publicPort, Ports.GetFree(), Ports.GetFree(), _directory,
            "jupyterhub.spawner.SimpleLocalProcessSpawner", [Python, cullerScript]);
        var configPath = Path.Combine(_directory, "jupyterhub_config.py");
        await File.WriteAllTextAsync(configPath, HubConfigGenerator.Generate(facility, runtime));

        var environment = new Dictionary<string, string>
        {
            [HubConfigGenerator.DummyPasswordVariable] = "shared-test-password",
            ["CONFIGPROXY_AUTH_TOKEN"] = Convert.ToHexString(Guid.NewGuid().ToByteArray()),
            ["NODE_PATH"] = DebianNodeModules,
        };
        // auth_state is on (the spawner needs the login's e-mail and groups): without its key the hub refuses to start.
        var (noKeyExit, noKeyOutput) = await TestProcess.RunAsync(Programs.Require("jupyterhub"), ["--config", configPath], environment,
            timeout: TimeSpan.FromSeconds(60), workingDirectory: _directory);
        noKeyExit.Should().NotBe(0);
        noKeyOutput.Should().Contain("auth_state is enabled, but encryption is not available");
        // The key as the hub container gets it: from the hub Secret the HubBuilder makes.
        var hubObjects = HubBuilder.Build(facility, new FacilityContext { IssuerServiceHost = "issuer.test" }).Objects;
        var hubSecret = hubObjects.OfType<V1Secret>().Single(s => s.Data.ContainsKey(HubBuilder.CryptKeyKey));
        hubObjects.OfType<V1Deployment>().Single().Spec.Template.Spec.Containers.Single(c => c.Name == "hub").Env
            .Should().Contain(e => e.Name == HubConfigGenerator.CryptKeyVariable && e.ValueFrom.SecretKeyRef.Name == hubSecret.Metadata.Name
                && e.ValueFrom.SecretKeyRef.Key == HubBuilder.CryptKeyKey);
        environment[HubConfigGenerator.CryptKeyVariable] = System.Text.Encoding.UTF8.GetString(hubSecret.Data[HubBuilder.CryptKeyKey]);
        await using var hub = TestProcess.Start(Programs.Require("jupyterhub"), ["--config", configPath], _directory, environment);
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{publicPort}"),
        };
        string? apiBody = null;
        await hub.WaitUntilAsync(async () =>
        {
            var response = await http.GetAsync("/hub/api");
            apiBody = await response.Content.ReadAsStringAsync();
            return response.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(60), "GET /hub/api through the proxy");
        JsonDocument.Parse(apiBody!).RootElement.GetProperty("version").GetString().Should().StartWith("3.");

        // JupyterHub 3.0 answers a failed login with the login page again (200) and no session cookie.
        var refused = await Login(http, "alice@cern.ch", "wrong-password");
        refused.StatusCode.Should().NotBe(HttpStatusCode.Found);
        (await refused.Content.ReadAsStringAsync()).Should().Contain("Invalid username or password");
        var login = await Login(http, "alice@cern.ch", "shared-test-password");
        login.StatusCode.Should().Be(HttpStatusCode.Found, hub.Output);
        login.Headers.Location!.ToString().Should().Contain("/hub/");
        login.Headers.GetValues("Set-Cookie").Should().Contain(c => c.StartsWith("jupyterhub-session-id=", StringComparison.Ordinal));

        await hub.WaitUntilAsync(() => Task.FromResult(File.Exists(cullerReport)), TimeSpan.FromSeconds(30), "the culler service to run");
        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(cullerReport));
        report.RootElement.GetProperty("status").GetInt32().Should().Be(200, "the culler's role must allow listing users");
        report.RootElement.GetProperty("argv").EnumerateArray().Select(a => a.GetString())
            .Should().Equal("--timeout=3600", "--cull-every=60", "--max-age=0");
    }

    private static async Task<HttpResponseMessage> Login(HttpClient http, string user, string password)
    {
        var page = await (await http.GetAsync("/hub/login")).Content.ReadAsStringAsync();
        var form = new Dictionary<string, string> { ["username"] = user, ["password"] = password };
        // JupyterHub versions with XSRF protection put the token in the form.
        var xsrf = Regex.Match(page, "name=\"_xsrf\" value=\"([^\"]+)\"");
        if (xsrf.Success) form["_xsrf"] = WebUtility.HtmlDecode(xsrf.Groups[1].Value);
        return await http.PostAsync("/hub/login?next=", new FormUrlEncodedContent(form));
    }

    [Fact]
    public async Task OAuth_config_is_loaded_by_traitlets_with_the_values_GenericOAuthenticator_reads()
    {
        var facility = Facility(hub =>
        {
            hub.Host = "cmsaf-jh.unl.edu";
            hub.AdminUsers = ["oshadura"];
            hub.Authentication = new HubAuthentication
            {
                Type = "oauth",
                OAuth = new OAuthSpec
                {
                    AuthorizeUrl = "https://cms-auth.web.cern.ch/authorize",
                    TokenUrl = "https://cms-auth.web.cern.ch/token",
                    UserdataUrl = "https://cms-auth.web.cern.ch/userinfo",
                    Scopes = ["openid", "profile", "email"],
                    AllowedGroups = ["cms", "cms/higgs"],
                    ClientIdSecretRef = new SecretKeyReference { Name = "jhub-cms-auth", Key = "client_id" },
                    ClientSecretSecretRef = new SecretKeyReference { Name = "jhub-cms-auth", Key = "client_secret" },
                    CaConfigMap = "cms-iam-ca",
                },
            };
        });
        var configPath = Path.Combine(_directory, "jupyterhub_config.py");
        await File.WriteAllTextAsync(configPath, HubConfigGenerator.Generate(facility, HubRuntime.InCluster(facility)));
        var loader = $$"""
            import json
            from traitlets.config.loader import PyFileConfigLoader
            config = PyFileConfigLoader("jupyterhub_config.py", path={{JsonSerializer.Serialize(_directory)}}).load_config()
            def plain(section):
                return {k: sorted(v) if isinstance(v, set) else v for k, v in section.items()}
            print(json.dumps({k: plain(config[k]) for k in ("JupyterHub", "GenericOAuthenticator", "Authenticator", "UserSessionSpawner")}))
            """;
        var secrets = new Dictionary<string, string> { ["OAUTH_CLIENT_ID"] = "client-123", ["OAUTH_CLIENT_SECRET"] = "not-logged" };
        var run = await TestProcess.RunAsync(Python, ["-c", loader], secrets);
        run.ExitCode.Should().Be(0, run.Output);
        using var json = JsonDocument.Parse(run.StandardOutput);
        var oauth = json.RootElement.GetProperty("GenericOAuthenticator");
        oauth.GetProperty("client_id").GetString().Should().Be("client-123");
        oauth.GetProperty("client_secret").GetString().Should().Be("not-logged");
        oauth.GetProperty("authorize_url").GetString().Should().Be("https://cms-auth.web.cern.ch/authorize");
        oauth.GetProperty("token_url").GetString().Should().Be("https://cms-auth.web.cern.ch/token");
        oauth.GetProperty("userdata_url").GetString().Should().Be("https://cms-auth.web.cern.ch/userinfo");
        oauth.GetProperty("oauth_callback_url").GetString().Should().Be("https://cmsaf-jh.unl.edu/hub/oauth_callback");
        oauth.GetProperty("scope").EnumerateArray().Select(e => e.GetString()).Should().Equal("openid", "profile", "email");
        oauth.GetProperty("username_claim").GetString().Should().Be("preferred_username");
        oauth.GetProperty("claim_groups_key").GetString().Should().Be("groups");
        oauth.GetProperty("allowed_groups").EnumerateArray().Select(e => e.GetString()).Should().Equal("cms", "cms/higgs");
        // A private IAM CA: tornado's ca_certs for every OAuthenticator request, at the path the hub container mounts it.
        var caFile = oauth.GetProperty("http_request_kwargs").GetProperty("ca_certs").GetString();
        var hubPod = HubBuilder.Build(facility, new FacilityContext { IssuerServiceHost = "operator.svc" }).Objects.OfType<V1Deployment>().Single().Spec.Template.Spec;
        var caMount = hubPod.Containers.Single(c => c.Name == "hub").VolumeMounts.Single(m => caFile!.StartsWith(m.MountPath + "/"));
        hubPod.Volumes.Single(v => v.Name == caMount.Name).ConfigMap.Name.Should().Be("cms-iam-ca");
        caFile.Should().EndWith("/ca.crt");
        json.RootElement.GetProperty("Authenticator").GetProperty("enable_auth_state").GetBoolean().Should().BeTrue("the login's refresh token is kept for the spawner");
        json.RootElement.GetProperty("Authenticator").GetProperty("admin_users").EnumerateArray().Select(e => e.GetString()).Should().Equal("oshadura");
        var jupyterhub = json.RootElement.GetProperty("JupyterHub");
        jupyterhub.GetProperty("authenticator_class").GetString().Should().Be("oauthenticator.generic.GenericOAuthenticator");
        jupyterhub.GetProperty("spawner_class").GetString().Should().Be("analysisfacility_spawner.UserSessionSpawner");
        var spawner = json.RootElement.GetProperty("UserSessionSpawner");
        spawner.GetProperty("facility_name").GetString().Should().Be("cms-af");
        spawner.GetProperty("profile_list").EnumerateArray().Select(p => (p.GetProperty("slug").GetString(), p.GetProperty("default").GetBoolean()))
            .Should().Equal(("small", false), ("gpu", true));

        // Without the client secret in the environment the config refuses to load: a hub never starts half configured.
        var (missingExit, missingOutput) = await TestProcess.RunAsync(Python, ["-c", loader],
            new Dictionary<string, string> { ["OAUTH_CLIENT_ID"] = "client-123" });
        missingExit.Should().NotBe(0);
        missingOutput.Should().Contain("OAUTH_CLIENT_SECRET");
    }

    [Fact]
    public async Task Real_jupyterhub_loads_the_OAuth_config_and_stops_only_at_the_authenticator_import_when_oauthenticator_is_missing()
    {
        var facility = Facility(hub =>
        {
            hub.Host = "cmsaf-jh.unl.edu";
            hub.Authentication = new HubAuthentication
            {
                Type = "oauth",
                OAuth = new OAuthSpec
                {
                    AuthorizeUrl = "https://cms-auth.web.cern.ch/authorize", TokenUrl = "https://cms-auth.web.cern.ch/token",
                    UserdataUrl = "https://cms-auth.web.cern.ch/userinfo",
                    ClientIdSecretRef = new SecretKeyReference { Name = "jhub-cms-auth", Key = "client_id" },
                    ClientSecretSecretRef = new SecretKeyReference { Name = "jhub-cms-auth", Key = "client_secret" },
                },
            };
            hub.Culling.Enabled = false;
        });
        var runtime = HubRuntime.LocalRun(facility, Ports.GetFree(), Ports.GetFree(), Ports.GetFree(), _directory,
            "jupyterhub.spawner.SimpleLocalProcessSpawner", []);
        var configPath = Path.Combine(_directory, "jupyterhub_config.py");
        await File.WriteAllTextAsync(configPath, HubConfigGenerator.Generate(facility, runtime));
        var (hasOAuthenticator, _) = await TestProcess.RunAsync(Python, ["-c", "import oauthenticator"]);
        var environment = new Dictionary<string, string>
        {
            ["OAUTH_CLIENT_ID"] = "client-123", ["OAUTH_CLIENT_SECRET"] = "s3cr3t-value", ["NODE_PATH"] = DebianNodeModules,
            [HubConfigGenerator.CryptKeyVariable] = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
        };

        if (hasOAuthenticator == 0)
        {
            var publicPort = new Uri(runtime.BindUrl).Port;
            await using var hub = TestProcess.Start(Programs.Require("jupyterhub"), ["--config", configPath], _directory, environment);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{publicPort}") };
            await hub.WaitUntilAsync(async () => (await http.GetAsync("/hub/api")).IsSuccessStatusCode, TimeSpan.FromSeconds(60), "GET /hub/api");
            var login = await http.GetAsync("/hub/oauth_login");
            login.Headers.Location?.ToString().Should().StartWith("https://cms-auth.web.cern.ch/authorize");
        }
        else
        {
            // oauthenticator is not packaged for Debian: the hub parses the whole config and fails loading the class.
            var (exit, output) = await TestProcess.RunAsync(Programs.Require("jupyterhub"), ["--config", configPath],
                environment, timeout: TimeSpan.FromSeconds(60), workingDirectory: _directory);
            exit.Should().NotBe(0);
            output.Should().Contain("oauthenticator").And.NotContain("SyntaxError").And.NotContain("KeyError");
            output.Should().NotContain("s3cr3t-value");
        }
    }
}
