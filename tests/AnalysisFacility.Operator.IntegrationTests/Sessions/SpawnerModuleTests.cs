using System.Text.Json;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.Sessions;
using AnalysisFacility.Operator.IntegrationTests.Support;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.IntegrationTests.Sessions;

/// <summary>
/// The hub's spawner module, run with the real Debian python3 and jupyterhub 3.0 under the import guard (only the
/// standard library and the packages of the hub image k8s-hub:3.3.8): it must import, configure like the generated
/// config configures it, and create exactly the objects the operator expects.
/// </summary>
public class SpawnerModuleTests
{
    // The Debian interpreter, which has the jupyterhub package (not a pyenv shim).
    private const string Python = "/usr/bin/python3";

    internal static string ModulePath => Path.Combine(RepositoryRoot.Find(), "charts", "analysisfacility-operator", "files", "analysisfacility_spawner.py");

    /// <summary>Runs the spawner module as a script, under the import guard.</summary>
    private static Task<ProcessResult> RunSpawnerAsync(params string[] arguments) =>
        RunPythonAsync([SpawnerHarness.Guard, SpawnerHarness.Packages, ModulePath, .. arguments]);

    /// <summary>Python source that installs the import guard for the spawner module, then makes it importable.</summary>
    private static string GuardPrelude => $"""
        import sys
        sys.path.insert(0, {JsonSerializer.Serialize(SpawnerHarness.Directory)})
        import import_guard
        import_guard.install({JsonSerializer.Serialize(SpawnerHarness.Packages)}, {JsonSerializer.Serialize(ModulePath)})
        sys.path.insert(0, {JsonSerializer.Serialize(Path.GetDirectoryName(ModulePath))})

        """;

    private static async Task<ProcessResult> RunPythonAsync(params string[] arguments)
    {
        var run = await TestProcess.RunAsync(Python, arguments, timeout: TimeSpan.FromMinutes(1));
        run.ExitCode.Should().Be(0, run.Output);
        return run;
    }

    [Fact]
    public async Task Dry_run_prints_a_session_the_operator_accepts()
    {
        var run = await RunSpawnerAsync("--dry-run", "--user", "sam.albin@unl.edu", "--facility", "cms-af",
            "--namespace", "cms", "--email", "sam.albin@unl.edu", "--group", "cms", "--group", "/cms/higgs", "--group", "not a group",
            "--profile", "gpu", "--env", "JUPYTERHUB_API_TOKEN=secret-value", "--env", "JUPYTERHUB_USER=sam.albin@unl.edu");

        run.Output.Should().NotContain("secret-value", "the dry run must never print a token, on stdout or stderr");
        var document = JsonNode.Parse(run.StandardOutput)!;
        var session = ApiJson.Decode<UserSession>(document["userSession"]!.ToJsonString());
        session.Metadata.Name.Should().Be(SessionNames.ForUser("sam.albin@unl.edu"));
        session.Metadata.Labels[Labels.User].Should().Be(Labels.SafeValue("sam.albin@unl.edu"));
        session.Metadata.Labels[Labels.Facility].Should().Be("cms-af");
        session.Spec.User.Groups.Should().Equal("/cms", "/cms/higgs");
        session.Spec.Profile.Should().Be("gpu");

        var facility = new FacilityResource
        {
            Metadata = new V1ObjectMeta { Name = "cms-af", NamespaceProperty = "cms" },
            Spec = new AnalysisFacilitySpec { Hub = new HubSpec { Profiles = [new SessionProfile { Name = "gpu", Image = "coffeateam/coffea-casa:gpu", Gpus = 1 }] } },
        };
        SessionValidation.Validate(session, facility).Should().BeEmpty();

        var secret = k8s.KubernetesJson.Deserialize<V1Secret>(document["hubEnvSecret"]!.ToJsonString());
        secret.Metadata.Name.Should().Be(session.Spec.HubEnvSecretName);
        secret.Metadata.NamespaceProperty.Should().Be("cms");
        secret.StringData.Keys.Should().BeEquivalentTo("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_USER");

        // What the operator builds from it: the pod takes its hub environment from that Secret.
        var objects = new SessionBuilder(new NoTokenDeliveryDouble()).Build(session, facility, new SessionContext { TokenSecretName = "t" }).Objects!;
        objects.Pod.Spec.Containers[0].EnvFrom.Single().SecretRef.Name.Should().Be(secret.Metadata.Name);
    }

    [Fact]
    public async Task Spawner_and_operator_name_sessions_identically()
    {
        var users = new[] { "alice", "Alice", "sam.albin@unl.edu", "sam-albin-unl-edu", "oksana.shadura@cern.ch", "a_b+c@x.org", "1user", new string('x', 64) };

        var script = GuardPrelude + "import analysisfacility_spawner as m\n" +
                     "import json; print(json.dumps([[m.session_name(u), m.label_value(u)] for u in json.loads(sys.argv[1])]))";
        var run = await RunPythonAsync("-c", script, JsonSerializer.Serialize(users));

        var fromPython = JsonSerializer.Deserialize<string[][]>(run.StandardOutput)!;
        fromPython.Select(p => p[0]).Should().Equal(users.Select(SessionNames.ForUser));
        fromPython.Select(p => p[1]).Should().Equal(users.Select(Labels.SafeValue));
    }

    [Fact]
    public async Task Spawner_class_configures_like_the_hub_configures_it()
    {
        var script = GuardPrelude + """
            import json
            from traitlets.config import Config
            from jupyterhub.spawner import Spawner
            import analysisfacility_spawner as m
            c = Config()
            c.UserSessionSpawner.facility_name = "cms-af"
            c.UserSessionSpawner.facility_namespace = "cms"
            c.UserSessionSpawner.profile_list = [{"slug": "standard", "display_name": "2 cores", "default": True}, {"slug": "gpu", "display_name": "GPU <1>"}]
            s = m.UserSessionSpawner(config=c)
            print(json.dumps({
              "isSpawner": isinstance(s, Spawner),
              "facility": s.facility_name, "namespace": s.facility_namespace, "ip": s.ip, "port": s.port, "envKeep": s.env_keep,
              "form": s.options_form,
              "options": s.options_from_form({"profile": ["gpu"]}),
              "identity": m.identity_from_auth_state({"oauth_user": {"email": "u@cern.ch", "groups": ["cms", "/cms/higgs", "bad group"]}}),
              "progress": m.progress_of({"status": {"phase": "Progressing", "conditions": [
                  {"type": "TokenIssued", "status": "True"}, {"type": "StorageMounted", "status": "True"},
                  {"type": "Ready", "status": "False", "message": "Waiting for the notebook pod to start."}]}}),
              "ready": m.is_ready({"status": {"serverUrl": "http://10.0.0.5:8888", "conditions": [{"type": "Ready", "status": "True"}]}}),
            }))
            """;
        var run = await RunPythonAsync("-c", script);

        var result = JsonNode.Parse(run.StandardOutput)!;
        result["isSpawner"]!.GetValue<bool>().Should().BeTrue();
        result["facility"]!.GetValue<string>().Should().Be("cms-af");
        result["namespace"]!.GetValue<string>().Should().Be("cms");
        result["ip"]!.GetValue<string>().Should().Be("0.0.0.0");
        result["port"]!.GetValue<int>().Should().Be(SessionBuilder.NotebookPort);
        result["envKeep"]!.AsArray().Should().BeEmpty("the hub's PATH must not leak into the notebook image");
        var form = result["form"]!.GetValue<string>();
        form.Should().Contain("value=\"gpu\"").And.Contain("GPU &lt;1&gt;").And.Contain("<option value=\"standard\" selected>");
        result["options"]!["profile"]!.GetValue<string>().Should().Be("gpu");
        result["identity"]![0]!.GetValue<string>().Should().Be("u@cern.ch");
        result["identity"]![1]!.AsArray().Select(g => g!.GetValue<string>()).Should().Equal("/cms", "/cms/higgs");
        result["progress"]![0]!.GetValue<int>().Should().Be(60);
        result["progress"]![1]!.GetValue<string>().Should().Be("Waiting for the notebook pod to start.");
        result["ready"]!.GetValue<bool>().Should().BeTrue();
    }

    [Fact]
    public async Task Invalid_user_name_is_refused_before_anything_is_created()
    {
        var (exitCode, output) = await TestProcess.RunAsync(Python, [SpawnerHarness.Guard, SpawnerHarness.Packages, ModulePath, "--dry-run", "--user", "bad name", "--facility", "cms-af"]);

        exitCode.Should().Be(2);
        output.Should().Contain("'bad name' cannot have a session");
    }

    [Fact]
    public async Task Import_guard_refuses_a_module_the_hub_image_does_not_ship()
    {
        // The spawner as it once was: it imported the kubernetes client, which k8s-hub:3.3.8 lacks, so the hub did not start.
        var directory = Directory.CreateTempSubdirectory("guard-").FullName;
        try
        {
            var copy = Path.Combine(directory, "analysisfacility_spawner.py");
            await File.WriteAllTextAsync(copy, "import kubernetes\n" + await File.ReadAllTextAsync(ModulePath));
            var run = await TestProcess.RunAsync(Python, [SpawnerHarness.Guard, SpawnerHarness.Packages, copy, "--session-name", "alice"]);

            run.ExitCode.Should().NotBe(0);
            run.Output.Should().Contain("the spawner imports 'kubernetes', which the hub image quay.io/jupyterhub/k8s-hub:3.3.8 does not ship");
            (await RunSpawnerAsync("--session-name", "alice")).StandardOutput.Trim().Should().Be("alice", "the shipped module passes the guard");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// The hub's jupyterhub_config.py from the ConfigMap the HubBuilder makes, loaded with the hub container's generated
    /// environment by the real jupyterhub 3.0 and the spawner module: every c.Class.trait must be a trait its class
    /// defines, and each class must accept the values. (Traitlets only warns about unknown traits, so a mismatch such as
    /// facility_name vs facility made every spawn fail with an empty facility name.) GenericOAuthenticator is not packaged
    /// here; its keys are the ones JupyterHubConfigTests checks against oauthenticator 16.
    /// </summary>
    [Theory]
    [InlineData("dummy")]
    [InlineData("oauth")]
    public async Task Generated_hub_config_sets_only_traits_its_classes_define(string authentication)
    {
        var facility = new FacilityResource
        {
            Metadata = new V1ObjectMeta { Name = "cms-af", NamespaceProperty = "cmsaf" },
            Spec = new AnalysisFacilitySpec { Tokens = new TokenIssuerSpec { Issuer = "https://cmsaf-jh.unl.edu/issuer" } },
        };
        facility.Spec.Hub.Host = "cmsaf-jh.unl.edu";
        facility.Spec.Hub.AdminUsers = ["oshadura"];
        facility.Spec.Hub.Profiles =
        [
            new SessionProfile { Name = "small", Image = "coffeateam/coffea-casa-analysis:latest", Default = true },
            new SessionProfile { Name = "gpu", Image = "coffeateam/coffea-casa-analysis:latest", Gpus = 1 },
        ];
        facility.Spec.Hub.Authentication = authentication == "dummy"
            ? new HubAuthentication { Type = "dummy" }
            : new HubAuthentication
            {
                Type = "oauth",
                OAuth = new OAuthSpec
                {
                    AuthorizeUrl = "https://cms-auth.web.cern.ch/authorize", TokenUrl = "https://cms-auth.web.cern.ch/token",
                    UserdataUrl = "https://cms-auth.web.cern.ch/userinfo", GroupsClaim = "wlcg.groups",
                    ClientIdSecretRef = new SecretKeyReference { Name = "jhub-cms-auth", Key = "client_id" },
                    ClientSecretSecretRef = new SecretKeyReference { Name = "jhub-cms-auth", Key = "client_secret" },
                },
            };
        var directory = Directory.CreateTempSubdirectory("hub-config-").FullName;
        try
        {
            var hub = SpawnerHarness.Materialise(facility, directory, new Dictionary<string, string>
            {
                ["jhub-cms-auth/client_id"] = "client-123", ["jhub-cms-auth/client_secret"] = "not-logged",
            });
            var report = await SpawnerHarness.CheckConfigAsync(ModulePath, hub);

            report["unknown_traits"]!.AsArray().Should().BeEmpty(report.ToJsonString());
            var checkedTraits = report["checked"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
            checkedTraits.Should().Contain(["UserSessionSpawner.facility_name", "UserSessionSpawner.facility_namespace",
                "UserSessionSpawner.profile_list", "Authenticator.enable_auth_state", "JupyterHub.cleanup_servers"]);
            var invalid = report["invalid"]!.AsArray().Select(t => t!.GetValue<string>()).ToList();
            if (authentication == "dummy")
            {
                report["unknown_classes"]!.AsArray().Should().BeEmpty();
                invalid.Should().BeEmpty();
            }
            else
            {
                checkedTraits.Should().Contain("UserSessionSpawner.groups_claim");
                report["unknown_classes"]!.AsArray().Select(c => c!.GetValue<string>()).Should().Equal("GenericOAuthenticator");
                invalid.Should().ContainSingle().Which.Should().Contain("oauthenticator.generic.GenericOAuthenticator' could not be imported");
            }

            // The values the spawner ends up with (the hub's container environment names the facility).
            var script = Path.Combine(directory, "traits.json");
            await File.WriteAllTextAsync(script, JsonSerializer.Serialize(new { user = "alice", steps = new[] { "traits" } }));
            var traits = await TestProcess.RunAsync(Python, [SpawnerHarness.Script, SpawnerHarness.Packages, ModulePath, hub.ConfigPath, "run", script], hub.Environment);
            traits.ExitCode.Should().Be(0, traits.Output);
            var values = JsonNode.Parse(traits.StandardOutput.Trim().Split('\n').Last())!["result"]!;
            values["facility_name"]!.GetValue<string>().Should().Be("cms-af");
            values["facility_namespace"]!.GetValue<string>().Should().Be("cmsaf");
            values["profile_list"]!.AsArray().Select(p => p!["slug"]!.GetValue<string>()).Should().Equal("small", "gpu");
            values["groups_claim"]!.GetValue<string>().Should().Be(authentication == "dummy" ? "groups" : "wlcg.groups");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Operator_embeds_the_same_spawner_the_chart_ships()
    {
        using var stream = typeof(SessionBuilder).Assembly.GetManifestResourceStream("analysisfacility_spawner.py");
        stream.Should().NotBeNull("the facility controller ships the spawner from this resource");
        using var reader = new StreamReader(stream!);
        reader.ReadToEnd().Should().Be(File.ReadAllText(ModulePath));
    }
}

/// <summary>Test double standing in for the token builder's delivery; leaves the pod untouched.</summary>
internal sealed class NoTokenDeliveryDouble : ISessionTokenDelivery
{
    public string TokenFilePath => "/etc/analysisfacility/token/bt";
    public string FacilityTokenFilePath => TokenFilePath;
    public void Decorate(SessionTokenTarget target) { }
}

internal static class RepositoryRoot
{
    /// <summary>The checkout the tests were built from (the directory holding the charts folder).</summary>
    public static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (Directory.Exists(Path.Combine(directory.FullName, "charts", "analysisfacility-operator"))) return directory.FullName;
        }
        throw new InvalidOperationException($"no repository root above {AppContext.BaseDirectory}");
    }
}
