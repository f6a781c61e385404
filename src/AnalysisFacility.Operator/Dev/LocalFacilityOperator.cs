using System.Diagnostics.CodeAnalysis;
using System.Net;
using AnalysisFacility.LocalCluster;
using AnalysisFacility.Operator.Api;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.Dask;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.Operator.Controllers.Dask;
using AnalysisFacility.Operator.Hosting;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Runtime.Schema;

namespace AnalysisFacility.Operator.Dev;

/// <summary>
/// The operator running on this machine against a local cluster, wired as it would be in the cluster: CRDs installed,
/// its issuer reachable from pods through the chart's Service name, Dask schedulers reached at their Service
/// addresses. `dev` and the journey test both start the operator through this, so they run the same facility.
/// </summary>
[RequiresUnreferencedCode(CrdGenerator.Reflection), RequiresDynamicCode(CrdGenerator.Reflection)]
public sealed class LocalFacilityOperator : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly Task _run;

    private LocalFacilityOperator(OperatorHost host, KubernetesApi api, CancellationTokenSource stop, Task run)
    {
        Host = host;
        Api = api;
        _stop = stop;
        _run = run;
    }

    /// <summary>The operator's namespace in the local cluster (the issuer Service lives there).</summary>
    public const string Namespace = "default";

    /// <summary>The operator's settings here: its namespace, and the issuer Service pods reach it through.</summary>
    public static OperatorSettings Settings { get; } = new() { OperatorNamespace = Namespace };

    public OperatorHost Host { get; }
    public KubernetesApi Api { get; }
    public Task Completion => _run;

    /// <summary>Options of an operator on this machine serving the pods of <paramref name="cluster"/> (or, without a node, loopback only).</summary>
    public static OperatorHostOptions Options(LocalKubernetesCluster? cluster)
    {
        var node = cluster?.Node;
        return new OperatorHostOptions
        {
            Settings = Settings,
            // With a node, the operator listens on the node's bridge address too, so pods reach its issuer.
            ListenAddress = node is null ? IPAddress.Loopback : IPAddress.Any, HttpPort = 0, IssuerPort = 0,
            IssuerAddresses = node is null ? [] : [node.Address],
            Dask = node is null ? null : new DaskControllerOptions
            {
                // The operator runs on this machine, outside the pod network's names: it reaches each scheduler at
                // its Service address, which the node's proxy serves here.
                SchedulerApi = c => new Uri($"http://{node.ServiceAddress(c.Metadata.NamespaceProperty, DaskNames.Scheduler(c.Metadata.Name)) ?? "0.0.0.0"}:{DaskNames.DashboardPort}/api/v1"),
            },
        };
    }

    /// <summary>Installs the CRDs, starts the operator and, with a node, publishes its issuer to the pods.</summary>
    public static async Task<LocalFacilityOperator> StartAsync(k8s.KubernetesClientConfiguration configuration, LocalKubernetesCluster? cluster,
        Serilog.ILogger log, CancellationToken ct)
    {
        var api = new KubernetesApi(configuration, ApiJson.Options);
        await CrdInstaller.InstallAsync(api, ApiTypes.All, ct);
        var options = Options(cluster);
        var host = new OperatorHost(configuration, options, log);
        var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var run = Task.Run(() => host.RunAsync(stop.Token), CancellationToken.None);
        var started = new LocalFacilityOperator(host, api, stop, run);
        try
        {
            while (host.IssuerEndpoint is null && !run.IsCompleted) await Task.Delay(100, ct);
            if (run.IsCompleted) await run; // surfaces why the operator could not start
            if (cluster is not null) await DevIssuerService.ApplyAsync(api, options.Settings, cluster.Node.Address, host.IssuerEndpoint!.Port, ct);
            return started;
        }
        catch
        {
            await started.DisposeAsync();
            throw;
        }
    }

    /// <summary>The URL pods use for the issuer of a facility: the operator's issuer Service (its certificate names it).</summary>
    public static string IssuerUrl(string facilityName) =>
        $"https://{Settings.IssuerServiceHost}:{Settings.IssuerServicePort}/{facilityName}";

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _run;
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
        await Host.DisposeAsync();
        Api.Dispose();
        _stop.Dispose();
    }
}
