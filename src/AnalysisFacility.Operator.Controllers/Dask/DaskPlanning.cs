using System.Text;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Dask;
using AnalysisFacility.Operator.Builders.Tokens;
using k8s;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Controllers.Dask;

/// <summary>Planning shared by the controller's reconcile and <see cref="Render"/> (`render -f`, no cluster): facility settings and cluster data in, builder input out.</summary>
public static class DaskPlanning
{
    /// <summary>The external SNI host when the cluster asks for one and the facility has a domain.</summary>
    public static string? ExternalHost(DaskCluster cluster, FacilityResource facility) =>
        cluster.Spec.External && !string.IsNullOrWhiteSpace(facility.Spec.Domain)
            ? DaskNames.ExternalHost(cluster.Metadata.Name, facility.Spec.Domain!)
            : null;

    /// <summary>The user's token Secret (made by the session controller), or null without spec.user.</summary>
    public static string? TokenSecretName(DaskCluster cluster) =>
        string.IsNullOrEmpty(cluster.Spec.User) ? null : TokenDelivery.SecretName(cluster.Spec.FacilityRef, cluster.Spec.User);

    /// <summary>Adapts the token builders' pod pieces to the Dask builder's extension point.</summary>
    public static DaskTokenDelivery? TokenDeliveryFor(DaskCluster cluster, FacilityResource facility)
    {
        if (TokenSecretName(cluster) is not { } secretName) return null;
        var sessions = facility.Spec.Sessions;
        var pieces = TokenDelivery.BuildPodPieces(new TokenDeliveryOptions(secretName, sessions.TokenHelperImage, sessions.RunAsUser, sessions.FsGroup,
            Experiment: ExperimentTokenSecret.DeliveryFor(facility, cluster.Spec.User!)));
        // Workers read data as the session does: the same session token, and both token files named.
        var tokenFiles = pieces.MainEnvironment.Where(e => e.Name is TokenDelivery.FacilityTokenVariable or TokenDelivery.ExperimentTokenVariable).ToList();
        return new DaskTokenDelivery(pieces.TokenFile, pieces.Volumes, pieces.MainMounts, [pieces.InitContainer], [pieces.RefresherContainer], pieces.FsGroup, tokenFiles);
    }

    /// <summary>Workers before any adaptive step: the fixed count, or the current size kept within the adaptive bounds.</summary>
    public static int InitialWorkers(DaskCluster cluster, int? currentReplicas) => cluster.Spec.Adaptive is { } adaptive
        ? Math.Clamp(currentReplicas ?? adaptive.Minimum, adaptive.Minimum, Math.Max(adaptive.Minimum, adaptive.Maximum))
        : cluster.Spec.Worker.Replicas;

    public static DaskBuildInput Input(DaskCluster cluster, FacilityResource facility, int desiredWorkers, IDictionary<string, byte[]>? tlsData) =>
        new(facility.Metadata.Name, facility.Spec.Domain, facility.Spec.Dask, desiredWorkers, cluster.Spec.Tls ? tlsData : null,
            TokenDeliveryFor(cluster, facility))
        {
            Cvmfs = facility.Spec.Cvmfs.Enabled,
            XCacheCaConfigMap = XCacheCaConfigMap(facility),
        };

    /// <summary>The facility XCache's CA ConfigMap (made by the XCache controller), which sessions and workers trust.</summary>
    public static string? XCacheCaConfigMap(FacilityResource facility) =>
        facility.Spec.XCache is { Name.Length: > 0 } xcache ? Builders.XCache.XCacheTls.CaConfigMapName(xcache.Name) : null;

    /// <summary>
    /// The API server omits a probe's initialDelaySeconds of 0, so a desired 0 never matches the cached object and the
    /// Applier would re-apply on every reconcile; leave it unset (the same default) instead.
    /// </summary>
    public static DaskClusterObjects Normalise(DaskClusterObjects objects)
    {
        foreach (var deployment in new[] { objects.SchedulerDeployment, objects.WorkerDeployment })
        {
            foreach (var container in deployment.Spec.Template.Spec.Containers.Concat(deployment.Spec.Template.Spec.InitContainers ?? []))
            {
                foreach (var probe in new[] { container.ReadinessProbe, container.LivenessProbe, container.StartupProbe })
                {
                    if (probe is { InitialDelaySeconds: 0 }) probe.InitialDelaySeconds = null;
                }
            }
        }
        return objects;
    }

    /// <summary>Validation errors that do not need cluster data (so a bad spec is reported before CA or token lookups).</summary>
    public static IReadOnlyList<string> Validate(DaskCluster cluster, FacilityResource facility) =>
        DaskClusterValidator.Validate(cluster.Spec, facility.Metadata.Name, facility.Spec.Domain, facility.Spec.Dask);

    /// <summary>Stands in for certificates and keys only the cluster's CA can issue.</summary>
    public const string Placeholder = "<issued by the operator from the facility CA>";

    /// <summary>
    /// What the controller would create for <paramref name="cluster"/> (`render -f`), with the facility from <paramref name="set"/>; TLS data are placeholders, and an
    /// adaptive cluster starts at its minimum. Throws <see cref="ArgumentException"/> naming the problem when it cannot be built.
    /// </summary>
    public static IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Render(DaskCluster cluster, RenderSet set)
    {
        var ns = cluster.Metadata.NamespaceProperty;
        var facility = set.Facilities.FirstOrDefault(f => f.Metadata.Name == cluster.Spec.FacilityRef
                                                          && (string.IsNullOrEmpty(ns) || string.IsNullOrEmpty(f.Metadata.NamespaceProperty) || f.Metadata.NamespaceProperty == ns))
            ?? throw new ArgumentException($"DaskCluster {cluster.Metadata.Name}: AnalysisFacility {cluster.Spec.FacilityRef} (spec.facilityRef) is not in the rendered files.");
        if (string.IsNullOrEmpty(ns))
        {
            // Rendered files often omit the namespace: the facility's, else default.
            cluster.Metadata.NamespaceProperty = string.IsNullOrEmpty(facility.Metadata.NamespaceProperty) ? "default" : facility.Metadata.NamespaceProperty;
        }

        IDictionary<string, byte[]>? tlsData = null;
        if (cluster.Spec.Tls)
        {
            var placeholder = Encoding.ASCII.GetBytes(Placeholder);
            tlsData = new[] { DaskTls.CaCertificateKey, DaskTls.SchedulerCertificateKey, DaskTls.SchedulerPrivateKeyKey, DaskTls.ClientCertificateKey, DaskTls.ClientPrivateKeyKey }
                .ToDictionary(key => key, _ => placeholder);
        }
        var build = DaskClusterBuilder.Build(cluster, Input(cluster, facility, InitialWorkers(cluster, null), tlsData));
        if (!build.IsValid) throw new ArgumentException($"DaskCluster {cluster.Metadata.Name}: {string.Join(" ", build.Errors)}");
        var objects = Normalise(build.Objects!);
        var result = new List<IKubernetesObject<V1ObjectMeta>> { objects.SchedulerService, objects.SchedulerDeployment, objects.WorkerDeployment };
        if (objects.TlsSecret is not null) result.Add(objects.TlsSecret);
        if (objects.ExternalRoute is not null) result.Add(objects.ExternalRoute);
        return result;
    }
}
