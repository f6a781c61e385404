using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Api;
using AnalysisFacility.LocalCluster.ControlPlane;
using AnalysisFacility.Operator.Dev;
using AnalysisFacility.Operator.Runtime.Client;

namespace AnalysisFacility.Operator.IntegrationTests.Support;

/// <summary>
/// One real control plane (etcd + kube-apiserver + kube-controller-manager on loopback) shared by the tests of the
/// "control plane" collection, with the CRDs installed. Each test works in a namespace of its own.
/// </summary>
public sealed class ControlPlaneFixture : IAsyncLifetime
{
    private LocalControlPlane? _plane;
    private KubernetesApi? _api;

    public LocalControlPlane Plane => _plane ?? throw new InvalidOperationException("not started");
    public KubernetesApi Api => _api ?? throw new InvalidOperationException("not started");

    /// <summary>Users with static tokens, for RBAC checks (user name -> token).</summary>
    public static readonly IReadOnlyDictionary<string, string> TestUsers = new Dictionary<string, string>
    {
        ["alice"] = "token-alice-" + Guid.NewGuid().ToString("N"),
        ["bob"] = "token-bob-" + Guid.NewGuid().ToString("N"),
    };

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        _plane = await LocalControlPlane.StartAsync(cts.Token, extraUsers: TestUsers);
        _api = new KubernetesApi(_plane.AdminConfiguration(), ApiJson.Options);
        await CrdInstaller.InstallAsync(_api, ApiTypes.All, cts.Token);
    }

    /// <summary>Creates a fresh namespace for one test.</summary>
    public async Task<string> CreateNamespaceAsync(string prefix, CancellationToken cancellationToken = default)
    {
        var name = $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 9, 63)].TrimEnd('-');
        var ns = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = name } };
        await Api.CreateAsync(Api.Types.For<k8s.Models.V1Namespace>(), ns, cancellationToken);
        return name;
    }

    public async Task DisposeAsync()
    {
        _api?.Dispose();
        if (_plane is not null)
        {
            // Keep the control plane's own logs for diagnosing failed runs.
            await File.WriteAllTextAsync(Path.Combine(Path.GetTempPath(), "af-control-plane-last.log"), _plane.Logs);
            await _plane.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ControlPlaneCollection : ICollectionFixture<ControlPlaneFixture>
{
    public const string Name = "control plane";
}
