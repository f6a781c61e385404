using AnalysisFacility.Operator.Controllers.Facility;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.Dask;
using AnalysisFacility.Operator.Runtime.Apply;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Runtime.Controllers;
using AnalysisFacility.Operator.Runtime.Events;
using AnalysisFacility.Operator.Runtime.Hosting;
using k8s;
using k8s.Models;
using Serilog;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Controllers.Dask;

/// <summary>The DaskCluster controller: registers its informers and reconciles.</summary>
public sealed class DaskClusterController(
    OperatorManager manager,
    Informer<FacilityResource> facilities,
    Informer<V1Secret> secrets,
    Informer<V1Deployment> deployments,
    DaskAdaptiveScaling scaling,
    Func<DaskCluster, Uri> schedulerApi,
    DaskControllerOptions options,
    ILogger log) : IReconciler<DaskCluster>
{
    public static readonly ResourceType RouteType = new("traefik.io", "v1alpha1", "IngressRouteTCP", "ingressroutetcps", Namespaced: true);
    private const string RouteCrdName = "ingressroutetcps.traefik.io";

    public const string Name = "daskcluster";

    /// <summary>Creates the informers and the controller and adds them to <paramref name="manager"/>.</summary>
    public static Controller<DaskCluster> Register(OperatorManager manager, OperatorSettings settings, ILogger log, DaskControllerOptions? options = null)
    {
        // No issuer registry: Dask pods get tokens through the user's token Secret, which the session controller mints.
        options ??= new DaskControllerOptions();
        var clusters = manager.Informer<DaskCluster>();
        // StatusWriter resolves the kind by apiVersion/kind, which the registry knows only for registered custom resources.
        var facilities = manager.Informer<FacilityResource>();
        var deployments = manager.Informer<V1Deployment>(OperatorSettings.ManagedSelector);
        var services = manager.Informer<V1Service>(OperatorSettings.ManagedSelector);
        var secrets = manager.Informer<V1Secret>(OperatorSettings.ManagedSelector);
        // Kinds without a C# model must be registered for the Applier to find their REST path.
        manager.Api.Types.Register(RouteType);

        // One HttpClient for every scheduler: lives as long as the operator process.
        var http = new HttpClient { Timeout = options.SchedulerTimeout };
        var scaling = new DaskAdaptiveScaling(new DaskSchedulerClient(http), options.ScaleDownAfter);
        var schedulerApi = options.SchedulerApi ?? (cluster => DefaultSchedulerApi(cluster, settings));
        var reconciler = new DaskClusterController(manager, facilities, secrets, deployments, scaling, schedulerApi, options, log.ForContext("Controller", Name));

        var controller = new Controller<DaskCluster>(Name, clusters, reconciler, manager.Api, manager.Metrics, log, settings.Workers)
            .Owns(deployments)
            .Owns(services)
            .Owns(secrets)
            .Watches(facilities, facility => clusters.List(facility.Metadata.NamespaceProperty)
                .Where(cluster => cluster.Spec.FacilityRef == facility.Metadata.Name).Select(ObjectKey.Of))
            // The facility CA and the user's token Secret are not ours: follow them by name.
            .Watches(secrets, secret => clusters.List(secret.Metadata.NamespaceProperty)
                .Where(cluster => secret.Metadata.Name == FacilitySecrets.CaSecretName(cluster.Spec.FacilityRef)
                                  || secret.Metadata.Name == DaskPlanning.TokenSecretName(cluster))
                .Select(ObjectKey.Of));
        clusters.AddHandler((type, cluster) =>
        {
            if (type == InformerEventType.Deleted) reconciler.Forget(cluster);
        });
        manager.Add(controller);
        return controller;
    }

    /// <summary>The scheduler's HTTP API through its Service (the dashboard port serves /api/v1).</summary>
    public static Uri DefaultSchedulerApi(DaskCluster cluster, OperatorSettings settings) =>
        new($"http://{DaskNames.Scheduler(cluster.Metadata.Name)}.{cluster.Metadata.NamespaceProperty}.svc.{settings.ClusterDomain}:{DaskNames.DashboardPort}/api/v1");

    // Per cluster UID: when the scheduler was last asked (reconciles triggered by child events must not step more often).
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastStep = new();

    public void Forget(DaskCluster cluster)
    {
        _lastStep.TryRemove(cluster.Metadata.Uid ?? "", out _);
        scaling.Forget(ScalingKey(cluster));
    }

    public async Task<ReconcileResult> ReconcileAsync(DaskCluster cluster, CancellationToken cancellationToken)
    {
        var now = options.Time.GetUtcNow();
        var generation = cluster.Metadata.Generation;
        var previous = cluster.Status ?? new DaskClusterStatus();
        var status = new DaskClusterStatus
        {
            ObservedGeneration = generation,
            Conditions = CopyConditions(previous.Conditions),
            SchedulerAddress = previous.SchedulerAddress,
            ExternalAddress = previous.ExternalAddress,
            DashboardUrl = previous.DashboardUrl,
            DesiredWorkers = previous.DesiredWorkers,
        };
        void Set(string type, bool? value, string reason, string message) =>
            Conditions.Set(status.Conditions, type, value, reason, message, generation, now.UtcDateTime);

        var name = cluster.Metadata.Name;
        var ns = cluster.Metadata.NamespaceProperty;
        var facility = facilities.Get(new ObjectKey(ns, cluster.Spec.FacilityRef));
        if (facility is null)
        {
            var message = $"AnalysisFacility {cluster.Spec.FacilityRef} (spec.facilityRef) does not exist in namespace {ns}.";
            return await NotReadyAsync(cluster, status, DaskConditions.FacilityNotFound, message, "Pending", options.RetryDelay, cancellationToken);
        }

        var errors = DaskPlanning.Validate(cluster, facility);
        if (errors.Count > 0) return await InvalidAsync(cluster, status, errors, cancellationToken);

        var result = ReconcileResult.Done;
        var keep = new HashSet<string> { Conditions.Ready, DaskConditions.SchedulerReady, DaskConditions.WorkersReady };

        // TLS material: issued from the facility CA, kept while still valid.
        IDictionary<string, byte[]>? tlsData = null;
        if (cluster.Spec.Tls)
        {
            keep.Add(DaskConditions.TlsReady);
            var caData = await FacilityCa.ReadAsync(secrets, manager.Api, ns, facility.Metadata.Name, cancellationToken);
            var caName = FacilitySecrets.CaSecretName(facility.Metadata.Name);
            if (caData is null)
            {
                var message = $"The facility CA Secret {caName} does not exist yet (the AnalysisFacility controller creates it); waiting.";
                Set(DaskConditions.TlsReady, false, DaskConditions.CertificateAuthorityMissing, message);
                return await NotReadyAsync(cluster, status, DaskConditions.CertificateAuthorityMissing, message, "Pending", options.RetryDelay, cancellationToken);
            }
            try
            {
                var existing = secrets.Get(new ObjectKey(ns, DaskNames.TlsSecret(name)))?.Data;
                var ensured = DaskTls.Ensure(existing, caData, name, ns, DaskPlanning.ExternalHost(cluster, facility), now);
                tlsData = ensured.Data;
                result = result.Merge(ReconcileResult.After(Max(ensured.RenewAt - now, TimeSpan.FromMinutes(1))));
                Set(DaskConditions.TlsReady, true, "CertificatesIssued",
                    $"Scheduler and client certificates from {caName}; renewed at {ensured.RenewAt.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}.");
            }
            catch (Exception e) when (e is ArgumentException or CryptographicException or InvalidOperationException)
            {
                // The message names the Secret and keys, never their content.
                var message = $"The facility CA Secret {caName} cannot sign certificates: {e.Message}";
                Set(DaskConditions.TlsReady, false, DaskConditions.CertificateAuthorityInvalid, message);
                await manager.Events.RecordAsync(cluster, EventRecorder.Warning, DaskConditions.CertificateAuthorityInvalid, message, cancellationToken);
                return await NotReadyAsync(cluster, status, DaskConditions.CertificateAuthorityInvalid, message, "Pending", options.RetryDelay, cancellationToken);
            }
        }

        // The user's token: pods mount the Secret; until it exists they wait in ContainerCreating, so apply anyway.
        var tokenMissing = false;
        if (DaskPlanning.TokenSecretName(cluster) is { } tokenSecret)
        {
            keep.Add(DaskConditions.TokenReady);
            tokenMissing = !await ExistsAsync(tokenSecret, ns, cancellationToken);
            if (tokenMissing)
            {
                Set(DaskConditions.TokenReady, false, DaskConditions.TokenSecretMissing,
                    $"The token Secret {tokenSecret} of user {cluster.Spec.User} does not exist yet (a UserSession of the user creates it); pods wait for it.");
                result = result.Merge(ReconcileResult.After(options.RetryDelay));
            }
            else
            {
                Set(DaskConditions.TokenReady, true, "TokenMounted", $"Pods read the token of user {cluster.Spec.User} from BEARER_TOKEN_FILE (Secret {tokenSecret}).");
            }
        }

        var workerDeployment = deployments.Get(new ObjectKey(ns, DaskNames.Workers(name)));
        var currentReplicas = workerDeployment?.Spec?.Replicas;
        var desired = DaskPlanning.InitialWorkers(cluster, currentReplicas);
        if (cluster.Spec.Adaptive is { } adaptive)
        {
            keep.Add(DaskConditions.AutoscalerReady);
            (desired, var next) = await AdaptiveStepAsync(cluster, adaptive, desired, now, Set, cancellationToken);
            result = result.Merge(next);
        }

        var build = DaskClusterBuilder.Build(cluster, DaskPlanning.Input(cluster, facility, desired, tlsData));
        if (!build.IsValid) return await InvalidAsync(cluster, status, build.Errors, cancellationToken);
        var objects = DaskPlanning.Normalise(build.Objects!);

        await manager.Applier.ApplyAsync(objects.SchedulerService, cluster, cancellationToken);
        await manager.Applier.ApplyAsync(objects.SchedulerDeployment, cluster, cancellationToken);
        if (objects.TlsSecret is not null) await manager.Applier.ApplyAsync(objects.TlsSecret, cluster, cancellationToken);
        else await manager.Applier.DeleteAsync(manager.Api.Types.For<V1Secret>(), ns, DaskNames.TlsSecret(name), cancellationToken);
        await manager.Applier.ApplyAsync(objects.WorkerDeployment, cluster, cancellationToken);
        if (currentReplicas is { } before && before != desired)
        {
            await manager.Events.RecordAsync(cluster, EventRecorder.Normal, "ScaledWorkers", $"Worker replicas {before} -> {desired}.", cancellationToken);
        }

        if (await ReconcileRouteAsync(cluster, objects, Set, cancellationToken)) keep.Add(DaskConditions.ExternalRouteReady);

        // Status from what is observed.
        var scheduler = deployments.Get(new ObjectKey(ns, DaskNames.Scheduler(name)));
        var workers = deployments.Get(new ObjectKey(ns, DaskNames.Workers(name)));
        var schedulerReady = (scheduler?.Status?.ReadyReplicas ?? 0) >= 1;
        var readyWorkers = workers?.Status?.ReadyReplicas ?? 0;
        Set(DaskConditions.SchedulerReady, schedulerReady, schedulerReady ? "SchedulerRunning" : "SchedulerNotReady",
            schedulerReady ? "The scheduler pod is ready." : "The scheduler pod is not ready yet.");
        var workersReady = readyWorkers >= desired;
        Set(DaskConditions.WorkersReady, workersReady, workersReady ? "WorkersRunning" : "WorkersNotReady", $"{readyWorkers} of {desired} workers ready.");

        status.SchedulerAddress = objects.Addresses.Scheduler;
        status.ExternalAddress = objects.Addresses.External;
        status.DashboardUrl = objects.Addresses.Dashboard;
        status.DesiredWorkers = desired;
        status.ReadyWorkers = readyWorkers;

        Conditions.RemoveAllExcept(status.Conditions, keep);
        // A missing external route degrades the cluster but does not stop it: users inside the cluster can work.
        var blocking = status.Conditions.Where(c => c.Type is not (Conditions.Ready or DaskConditions.ExternalRouteReady) && c.Status != Conditions.True).ToList();
        if (blocking.Count == 0)
        {
            var degraded = Conditions.Find(status.Conditions, DaskConditions.ExternalRouteReady) is { Status: Conditions.False } ? " The external route is not available (see ExternalRouteReady)." : "";
            Set(Conditions.Ready, true, "ClusterReady", $"Scheduler and {readyWorkers} workers ready.{degraded}");
            status.Phase = "Ready";
        }
        else
        {
            var first = blocking[0];
            Set(Conditions.Ready, false, first.Reason ?? "NotReady", first.Message ?? first.Type);
            status.Phase = "Progressing";
            if (!schedulerReady || !workersReady) result = result.Merge(ReconcileResult.After(TimeSpan.FromMinutes(1)));
        }
        await manager.Status.UpdateAsync(cluster, status, cancellationToken);
        return result;
    }

    /// <summary>One adaptive step when the interval has passed; on failure keeps the current size.</summary>
    private async Task<(int Desired, ReconcileResult Next)> AdaptiveStepAsync(DaskCluster cluster, DaskAdaptiveSpec adaptive, int current,
        DateTimeOffset now, Action<string, bool?, string, string> set, CancellationToken cancellationToken)
    {
        DaskClusterValidator.TryParseDuration(adaptive.Interval, out var interval);
        var uid = cluster.Metadata.Uid ?? "";
        if (_lastStep.TryGetValue(uid, out var last) && now - last < interval)
            return (current, ReconcileResult.After(interval - (now - last)));
        _lastStep[uid] = now;

        var apiBase = schedulerApi(cluster);
        AdaptiveStep step;
        try
        {
            step = await scaling.StepAsync(ScalingKey(cluster), apiBase, adaptive.Minimum, adaptive.Maximum, current, cancellationToken);
        }
        catch (Exception e) when (e is DaskSchedulerException or HttpRequestException
                                      || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            set(DaskConditions.AutoscalerReady, false, DaskConditions.SchedulerUnreachable,
                $"Cannot ask the scheduler for its adaptive target ({Short(e)}); keeping {current} workers.");
            return (current, ReconcileResult.After(interval));
        }

        // Retired workers still have a nanny that restarts them: remove exactly those pods before replicas go down.
        foreach (var retired in step.RetiredWorkers)
        {
            if (retired.Name is { Length: > 0 } pod) await DeleteWorkerPodAsync(cluster, pod, cancellationToken);
        }
        if (step.RetiredWorkers.Count > 0)
        {
            log.Information("DaskCluster {Namespace}/{Name}: retired {Count} workers through the scheduler ({Reason})",
                cluster.Metadata.NamespaceProperty, cluster.Metadata.Name, step.RetiredWorkers.Count, step.Reason);
        }
        set(DaskConditions.AutoscalerReady, true, "Scaling", $"Scheduler target {step.SchedulerTarget}; {step.DesiredWorkers} workers (bounds {adaptive.Minimum}..{adaptive.Maximum}).");
        return (step.DesiredWorkers, ReconcileResult.After(interval));
    }

    private async Task DeleteWorkerPodAsync(DaskCluster cluster, string podName, CancellationToken cancellationToken)
    {
        var podType = manager.Api.Types.For<V1Pod>();
        var live = await manager.Api.GetAsync(podType, cluster.Metadata.NamespaceProperty, podName, cancellationToken);
        if (live is null) return;
        var pod = KubernetesJson.Deserialize<V1Pod>(live.ToJsonString());
        IReadOnlyDictionary<string, string> labels = pod.Metadata.Labels as Dictionary<string, string> ?? new Dictionary<string, string>(pod.Metadata.Labels ?? new Dictionary<string, string>());
        // Only a worker pod of this cluster: a worker name is whatever the scheduler reports, so never trust it blindly.
        if (labels.GetValueOrDefault(Labels.Instance) != cluster.Metadata.Name || labels.GetValueOrDefault(Labels.Component) != DaskNames.WorkerComponent
            || labels.GetValueOrDefault(Labels.Name) != DaskNames.Application) return;
        await manager.Api.DeleteAsync(podType, cluster.Metadata.NamespaceProperty, podName, cancellationToken, uid: pod.Metadata.Uid);
    }

    /// <summary>Applies or removes the external route; returns whether the ExternalRouteReady condition applies.</summary>
    private async Task<bool> ReconcileRouteAsync(DaskCluster cluster, DaskClusterObjects objects, Action<string, bool?, string, string> set,
        CancellationToken cancellationToken)
    {
        var crds = manager.Api.Types.For<V1CustomResourceDefinition>();
        var ns = cluster.Metadata.NamespaceProperty;
        var routeName = DaskNames.Route(cluster.Metadata.Name);
        if (objects.ExternalRoute is not { } route)
        {
            // Removing needs the CRD; without it there can be no route to remove. Only reads in the steady state.
            if (await manager.Api.GetAsync(crds, null, RouteCrdName, cancellationToken) is null) return false;
            var live = await manager.Api.GetAsync(RouteType, ns, routeName, cancellationToken);
            if (live is not null && IsOwnedBy(live, cluster)) await manager.Api.DeleteAsync(RouteType, ns, routeName, cancellationToken);
            return false;
        }

        if (await manager.Api.GetAsync(crds, null, RouteCrdName, cancellationToken) is null)
        {
            set(DaskConditions.ExternalRouteReady, false, DaskConditions.TraefikCrdMissing,
                $"The Traefik CRD {RouteCrdName} is not installed, so {objects.Addresses.External} is not routed; the cluster works inside the cluster.");
            return true;
        }
        // No informer for a third-party kind: compare with the live object like the Applier compares with its cache.
        Applier.SetControllerReference(route, cluster);
        var desired = manager.Api.ToNode(route);
        var annotations = desired["metadata"]!.AsObject()["annotations"] as JsonObject ?? new JsonObject();
        annotations[Applier.HashAnnotation] = Applier.Hash(desired);
        desired["metadata"]!.AsObject()["annotations"] = annotations;
        var current = await manager.Api.GetAsync(RouteType, ns, routeName, cancellationToken);
        if (current is null || !Applier.Matches(desired, current))
        {
            try
            {
                await manager.Applier.ApplyAsync(route, cluster, cancellationToken);
            }
            catch (KubernetesApiException e) when (!e.IsConflict)
            {
                // The condition follows what the API server did with the route: refused (e.g. by the installed Traefik CRD's
                // schema) is not routed, and the rest of the cluster still works.
                set(DaskConditions.ExternalRouteReady, false, DaskConditions.RouteRejected,
                    $"The API server refused IngressRouteTCP {routeName}, so {objects.Addresses.External} is not routed: {e.ApiMessage}");
                return true;
            }
        }
        set(DaskConditions.ExternalRouteReady, true, "Routed", $"{objects.Addresses.External} is routed by SNI to the scheduler.");
        return true;
    }

    private async Task<bool> ExistsAsync(string secretName, string @namespace, CancellationToken cancellationToken) =>
        secrets.Get(new ObjectKey(@namespace, secretName)) is not null
        || await manager.Api.GetAsync(manager.Api.Types.For<V1Secret>(), @namespace, secretName, cancellationToken) is not null;

    private async Task<ReconcileResult> InvalidAsync(DaskCluster cluster, DaskClusterStatus status, IReadOnlyList<string> errors, CancellationToken cancellationToken)
    {
        var message = string.Join(" ", errors);
        await manager.Events.RecordAsync(cluster, EventRecorder.Warning, DaskConditions.InvalidSpec, message, cancellationToken);
        // Nothing running is torn down: the last good objects stay until the spec is fixed.
        return await NotReadyAsync(cluster, status, DaskConditions.InvalidSpec, message, "Failed", null, cancellationToken);
    }

    private async Task<ReconcileResult> NotReadyAsync(DaskCluster cluster, DaskClusterStatus status, string reason, string message, string phase,
        TimeSpan? retry, CancellationToken cancellationToken)
    {
        Conditions.Set(status.Conditions, Conditions.Ready, false, reason, message, cluster.Metadata.Generation, options.Time.GetUtcNow().UtcDateTime);
        status.Phase = phase;
        var workers = deployments.Get(new ObjectKey(cluster.Metadata.NamespaceProperty, DaskNames.Workers(cluster.Metadata.Name)));
        status.ReadyWorkers = workers?.Status?.ReadyReplicas ?? (status.DesiredWorkers is null ? null : 0);
        if (reason is DaskConditions.FacilityNotFound)
        {
            await manager.Events.RecordAsync(cluster, EventRecorder.Warning, reason, message, cancellationToken);
        }
        await manager.Status.UpdateAsync(cluster, status, cancellationToken);
        return retry is { } delay ? ReconcileResult.After(delay) : ReconcileResult.Done;
    }

    private static bool IsOwnedBy(JsonObject live, DaskCluster cluster) =>
        live["metadata"]?["ownerReferences"] is JsonArray owners
        && owners.Any(owner => owner?["uid"]?.GetValue<string>() == cluster.Metadata.Uid);

    private static List<Condition> CopyConditions(IEnumerable<Condition>? conditions) =>
        // Copies: Conditions.Set mutates in place and the originals belong to the shared cache.
        (conditions ?? []).Select(c => new Condition
        {
            Type = c.Type, Status = c.Status, Reason = c.Reason, Message = c.Message,
            LastTransitionTime = c.LastTransitionTime, ObservedGeneration = c.ObservedGeneration,
        }).ToList();

    private static string ScalingKey(DaskCluster cluster) => cluster.Metadata.Uid ?? $"{cluster.Metadata.NamespaceProperty}/{cluster.Metadata.Name}";

    private static string Short(Exception e) => e is TaskCanceledException ? "timed out" : e.Message;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
