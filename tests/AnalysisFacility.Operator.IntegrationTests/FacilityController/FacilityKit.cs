using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.Runtime.Client;
using k8s;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.IntegrationTests.FacilityController;

/// <summary>Helpers for the facility controller tests: the repository's sample facility in a test namespace, and reads.</summary>
internal static class FacilityKit
{
    public const string Name = "cms-af";

    public static string SamplePath()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "deploy", "samples", "facility.yaml");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("deploy/samples/facility.yaml not found above the test directory");
    }

    /// <summary>
    /// The sample's YAML for <paramref name="ns"/>, with an issuer path of its own (every facility needs a distinct one).
    /// It is applied with kubectl like an admin would.
    /// </summary>
    public static string SampleYaml(string ns) => File.ReadAllText(SamplePath())
        .Replace("namespace: cmsaf", $"namespace: {ns}", StringComparison.Ordinal)
        .Replace("issuer: https://cmsaf-jh.unl.edu/issuer", $"issuer: https://cmsaf-jh.unl.edu/issuer/{ns}", StringComparison.Ordinal)
        .Replace(".cmsaf.svc", $".{ns}.svc", StringComparison.Ordinal);

    public static string IssuerPath(string ns) => $"/issuer/{ns}";

    /// <summary>The admin-made Secrets the sample references.</summary>
    public static async Task CreateReferencedSecretsAsync(KubernetesApi api, string ns)
    {
        foreach (var (name, keys) in new[]
                 {
                     ("jhub-cms-auth", new[] { "client_id", "client_secret" }),
                     ("triton-bucket", new[] { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY" }),
                     ("mlflow-bucket", new[] { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY" }),
                 })
        {
            var data = new JsonObject();
            foreach (var key in keys) data[key] = "test-value";
            await api.CreateAsync(api.Types.For<V1Secret>(), new JsonObject
            {
                ["apiVersion"] = "v1", ["kind"] = "Secret",
                ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
                ["stringData"] = data,
            }, CancellationToken.None);
        }
    }

    public static async Task<FacilityResource> ApplyWithKubectlAsync(ControlPlaneFixture fixture, string ns, string yaml)
    {
        var file = Path.Combine(Path.GetTempPath(), $"af-{ns}.yaml");
        await File.WriteAllTextAsync(file, yaml);
        try
        {
            var kubectl = Path.Combine(AnalysisFacility.LocalCluster.ControlPlane.LocalControlPlane.BinDirectory, "kubectl");
            var (code, output) = await TestProcess.RunAsync(kubectl, ["--kubeconfig", fixture.Plane.KubeconfigPath, "apply", "-f", file]);
            code.Should().Be(0, output);
        }
        finally
        {
            File.Delete(file);
        }
        return (await GetAsync(fixture.Api, ns))!;
    }

    public static async Task<FacilityResource?> GetAsync(KubernetesApi api, string ns, string name = Name)
    {
        var json = await api.GetAsync(api.Types.For<FacilityResource>(), ns, name, CancellationToken.None);
        return json is null ? null : ApiJson.Decode<FacilityResource>(json.ToJsonString());
    }

    public static Task PatchSpecAsync(KubernetesApi api, string ns, JsonObject spec) =>
        api.PatchAsync(api.Types.For<FacilityResource>(), ns, Name, new JsonObject { ["spec"] = spec }.ToJsonString(), KubernetesApi.MergePatch, CancellationToken.None);

    public static Task<JsonObject?> GetObjectAsync(KubernetesApi api, string apiVersion, string kind, string? ns, string name) =>
        api.GetAsync(api.Types.ForKind(apiVersion, kind), ns, name, CancellationToken.None);

    public static async Task<bool> ExistsAsync(KubernetesApi api, string apiVersion, string kind, string? ns, string name) =>
        await GetObjectAsync(api, apiVersion, kind, ns, name) is not null;

    public static async Task<Condition?> ConditionAsync(KubernetesApi api, string ns, string type) =>
        (await GetAsync(api, ns))?.Status?.Conditions.FirstOrDefault(c => c.Type == type);

    public static async Task WaitForConditionAsync(KubernetesApi api, string ns, string type, string status, string? reason = null, int seconds = 60)
    {
        Condition? last = null;
        try
        {
            await Eventually.TrueAsync(async () =>
            {
                last = await ConditionAsync(api, ns, type);
                return last?.Status == status && (reason is null || last.Reason == reason);
            }, TimeSpan.FromSeconds(seconds), $"condition {type}={status} {reason}");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; last: {last?.Status} {last?.Reason} {last?.Message}");
        }
    }

    public static async Task<IReadOnlyList<Corev1Event>> EventsAsync(KubernetesApi api, string ns)
    {
        var page = await api.ListAsync(api.Types.For<Corev1Event>(), ns, null, 500, null, CancellationToken.None);
        return page.Items.Select(i => KubernetesJson.Deserialize<Corev1Event>(i.ToJsonString())).ToList();
    }

    /// <summary>The settings the harness runs with (for rendering the expected objects).</summary>
    public static OperatorSettings HarnessSettings => new() { OperatorNamespace = "default", Workers = 4 };

    /// <summary>Marks pods ready (as a kubelet would) until the facility is Ready; pods appear progressively (StatefulSets, rollouts).</summary>
    public static async Task MarkReadyUntilFacilityReadyAsync(KubernetesApi api, string ns, int seconds = 120)
    {
        await Eventually.TrueAsync(async () =>
        {
            var pods = await api.ListAsync(api.Types.For<V1Pod>(), ns, null, 500, null, CancellationToken.None);
            foreach (var pod in pods.Items)
            {
                var ready = pod["status"]?["conditions"]?.AsArray().Any(c => c?["type"]?.GetValue<string>() == "Ready" && c["status"]?.GetValue<string>() == "True") == true;
                if (!ready && pod["metadata"]?["deletionTimestamp"] is null)
                {
                    try
                    {
                        await Kubelet.MarkPodReadyAsync(api, ns, pod["metadata"]!["name"]!.GetValue<string>());
                    }
                    catch (KubernetesApiException)
                    {
                        // deleted meanwhile (rollout): the next round sees the new pods
                    }
                }
            }
            return (await ConditionAsync(api, ns, "Ready"))?.Status == "True";
        }, TimeSpan.FromSeconds(seconds), "facility Ready after marking pods ready");
    }
}
