using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Runtime.Controllers;
using AnalysisFacility.Operator.Runtime.Hosting;
using AnalysisFacility.Operator.Runtime.Leader;
using k8s;
using k8s.Models;
using Serilog;

namespace AnalysisFacility.Operator.IntegrationTests.Runtime;

/// <summary>
/// A minimal controller built only from the generic runtime, to test the runtime on its own: for every DaskCluster
/// (used here just as "some custom resource") it keeps a ConfigMap "&lt;name&gt;-mirror" holding spec.image, and
/// writes a Ready condition. It records every call so tests can see what the runtime did.
/// </summary>
public sealed class MirrorReconciler(OperatorManager manager) : IReconciler<DaskCluster>, IFinalizer<DaskCluster>
{
    public const string ChildLabel = "runtime-test";
    public ConcurrentQueue<string> Reconciled { get; } = new();
    public ConcurrentQueue<string> Finalized { get; } = new();
    public ConcurrentDictionary<string, int> FailuresLeft { get; } = new();
    public ConcurrentQueue<DateTime> Attempts { get; } = new();
    public string Name => "runtime-test.analysisfacility.io/cleanup";

    public async Task<ReconcileResult> ReconcileAsync(DaskCluster resource, CancellationToken cancellationToken)
    {
        Attempts.Enqueue(DateTime.UtcNow);
        if (FailuresLeft.TryGetValue(resource.Metadata.Name, out var left) && left > 0)
        {
            FailuresLeft[resource.Metadata.Name] = left - 1;
            throw new InvalidOperationException("injected failure");
        }
        Reconciled.Enqueue(resource.Metadata.Name);
        var child = new V1ConfigMap
        {
            ApiVersion = "v1", Kind = "ConfigMap",
            Metadata = new V1ObjectMeta
            {
                Name = resource.Metadata.Name + "-mirror", NamespaceProperty = resource.Metadata.NamespaceProperty,
                Labels = new Dictionary<string, string> { [ChildLabel] = "true" },
            },
            Data = new Dictionary<string, string> { ["image"] = resource.Spec.Image ?? "" },
        };
        await manager.Applier.ApplyAsync(child, resource, cancellationToken);
        var status = new DaskClusterStatus { ObservedGeneration = resource.Metadata.Generation, Phase = "Ready", Conditions = [.. resource.Status.Conditions] };
        Conditions.Set(status.Conditions, Conditions.Ready, true, "Mirrored", "mirror ConfigMap applied", resource.Metadata.Generation, DateTime.UtcNow);
        await manager.Status.UpdateAsync(resource, status, cancellationToken);
        return ReconcileResult.Done;
    }

    public Task<ReconcileResult> FinalizeAsync(DaskCluster resource, CancellationToken cancellationToken)
    {
        Finalized.Enqueue(resource.Metadata.Name);
        return Task.FromResult(ReconcileResult.Done);
    }

    /// <summary>A manager with this controller, watching one namespace.</summary>
    public static (OperatorManager Manager, MirrorReconciler Reconciler) Create(KubernetesClientConfiguration configuration, string @namespace,
        bool withFinalizer = false, LeaderElectionOptions? leaderElection = null, TimeSpan? resync = null)
    {
        var api = new KubernetesApi(configuration, ApiJson.Options);
        var log = new LoggerConfiguration().MinimumLevel.Warning().WriteTo.Console().CreateLogger();
        var manager = new OperatorManager(api, new ManagerOptions
        {
            Namespaces = [@namespace], LeaderElection = leaderElection, ResyncPeriod = resync ?? TimeSpan.FromMinutes(10),
        }, log);
        var reconciler = new MirrorReconciler(manager);
        var primary = manager.Informer<DaskCluster>();
        var children = manager.Informer<V1ConfigMap>($"{ChildLabel}=true");
        var controller = new Controller<DaskCluster>("mirror", primary, reconciler, api, manager.Metrics, log, workers: 2,
            finalizer: withFinalizer ? reconciler : null,
            rateLimiter: new AnalysisFacility.Operator.Runtime.Queue.ExponentialFailureRateLimiter<ObjectKey>(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10)));
        controller.Owns(children);
        manager.Add(controller);
        return (manager, reconciler);
    }

    public static JsonObject Resource(string @namespace, string name, string image) => new()
    {
        ["apiVersion"] = ApiGroup.ApiVersion, ["kind"] = "DaskCluster",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = @namespace },
        ["spec"] = new JsonObject { ["facilityRef"] = "none", ["image"] = image },
    };
}

/// <summary>Runs a manager in the background for a test.</summary>
public sealed class RunningManager : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    public RunningManager(OperatorManager manager)
    {
        Manager = manager;
        _run = Task.Run(() => manager.RunAsync(_stop.Token));
    }

    public OperatorManager Manager { get; }
    public bool Stopped => _run.IsCompleted;

    public async Task StopAsync()
    {
        _stop.Cancel();
        await _run.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested) await StopAsync();
        Manager.Api.Dispose();
        _stop.Dispose();
    }
}
