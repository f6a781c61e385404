using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Builders.Facility;
using AnalysisFacility.Operator.IntegrationTests.Support;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.IntegrationTests.Sessions;

/// <summary>The hub's generated files as the hub pod gets them: the config file and the hub container's environment.</summary>
internal sealed record GeneratedHub(string ConfigPath, Dictionary<string, string> Environment, IReadOnlyList<k8s.IKubernetesObject<V1ObjectMeta>> Objects)
{
    public T Single<T>() where T : class => Objects.OfType<T>().Single();
}

/// <summary>
/// Runs Sessions/Spawner/spawner_harness.py with the Debian python3 and jupyterhub 3.0: the chart's spawner module
/// under the import guard (only the hub image's packages), configured by the generated jupyterhub_config.py.
/// </summary>
internal static class SpawnerHarness
{
    public const string Python = "/usr/bin/python3";

    public static string Directory => Path.Combine(RepositoryRoot.Find(), "tests", "AnalysisFacility.Operator.IntegrationTests", "Sessions", "Spawner");
    public static string Packages => Path.Combine(Directory, "k8s-hub-3.3.8-packages.txt");
    public static string Script => Path.Combine(Directory, "spawner_harness.py");
    public static string Guard => Path.Combine(Directory, "import_guard.py");

    /// <summary>
    /// Builds the facility's hub component and writes its ConfigMap's jupyterhub_config.py into <paramref name="directory"/>;
    /// the environment is the hub container's, with Secret references resolved from the Secrets the builder made.
    /// </summary>
    public static GeneratedHub Materialise(FacilityResource facility, string directory, IReadOnlyDictionary<string, string>? externalSecrets = null)
    {
        var context = new FacilityContext { IssuerServiceHost = "analysisfacility-operator.analysisfacility-system.svc" };
        var hub = HubBuilder.Build(facility, context);
        hub.Errors.Should().BeEmpty();
        var configMap = hub.Objects.OfType<V1ConfigMap>().Single(c => c.Data.ContainsKey(HubBuilder.ConfigFileName));
        var configPath = Path.Combine(directory, HubBuilder.ConfigFileName);
        File.WriteAllText(configPath, configMap.Data[HubBuilder.ConfigFileName]);
        var secrets = hub.Objects.OfType<V1Secret>().ToDictionary(s => s.Metadata.Name);
        var container = hub.Objects.OfType<V1Deployment>().Single().Spec.Template.Spec.Containers.Single(c => c.Name == "hub");
        var environment = new Dictionary<string, string>();
        foreach (var variable in container.Env)
        {
            if (variable.Value is not null)
            {
                environment[variable.Name] = variable.Value;
            }
            else if (variable.ValueFrom?.SecretKeyRef is { } reference)
            {
                environment[variable.Name] = secrets.TryGetValue(reference.Name, out var secret)
                    ? Encoding.UTF8.GetString(secret.Data[reference.Key])
                    : externalSecrets?[$"{reference.Name}/{reference.Key}"] ?? throw new InvalidOperationException($"no value for {reference.Name}/{reference.Key}");
            }
        }
        return new GeneratedHub(configPath, environment, hub.Objects);
    }

    /// <summary>Loads the config like the hub and lists configured traits that their class does not define.</summary>
    public static async Task<JsonNode> CheckConfigAsync(string spawnerModule, GeneratedHub hub)
    {
        var run = await TestProcess.RunAsync(Python, [Script, Packages, spawnerModule, hub.ConfigPath, "check-config"], hub.Environment,
            timeout: TimeSpan.FromMinutes(1));
        run.ExitCode.Should().Be(0, run.Output);
        return JsonNode.Parse(run.StandardOutput.Trim().Split('\n').Last())!;
    }

    /// <summary>Starts a scenario (see spawner_harness.py); read its step results with <see cref="Results"/> once it exits.</summary>
    public static TestProcess Start(GeneratedHub hub, string directory, object scenario, IReadOnlyDictionary<string, string> extraEnvironment, string name)
    {
        var scenarioPath = Path.Combine(directory, $"scenario-{Guid.NewGuid():N}.json");
        File.WriteAllText(scenarioPath, JsonSerializer.Serialize(scenario));
        var environment = new Dictionary<string, string>(hub.Environment);
        foreach (var (key, value) in extraEnvironment) environment[key] = value;
        return TestProcess.Start(Python, [Script, Packages, SpawnerModuleTests.ModulePath, hub.ConfigPath, "run", scenarioPath], directory, environment, name: name);
    }

    public static async Task<IReadOnlyList<JsonObject>> RunAsync(GeneratedHub hub, string directory, object scenario,
        IReadOnlyDictionary<string, string> extraEnvironment, TimeSpan timeout)
    {
        await using var process = Start(hub, directory, scenario, extraEnvironment, "spawner");
        return await ResultsAsync(process, timeout);
    }

    public static async Task<IReadOnlyList<JsonObject>> ResultsAsync(TestProcess process, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cts.Token);
        await process.WaitUntilAsync(() => Task.FromResult(process.HasExited), TimeSpan.FromSeconds(10), "output read");
        var lines = process.StandardOutput.Split('\n').Where(l => l.StartsWith("{\"step\"", StringComparison.Ordinal)).ToList();
        lines.Should().NotBeEmpty(process.Output);
        return lines.Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
    }
}
