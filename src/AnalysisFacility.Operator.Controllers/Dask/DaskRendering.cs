using System.Text;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Dask;
using k8s;
using k8s.Models;

namespace AnalysisFacility.Operator.Controllers.Dask;

/// <summary>What the DaskCluster controller would create, for `render -f`.</summary>
public static class DaskRendering
{
    /// <summary>Stands in for certificates and keys only the cluster's CA can issue.</summary>
    public const string Placeholder = "<issued by the operator from the facility CA>";

    /// <summary>
    /// The objects of <paramref name="cluster"/> with the facility from <paramref name="set"/>; TLS data are placeholders, and an
    /// adaptive cluster starts at its minimum. Throws <see cref="ArgumentException"/> naming the problem when it cannot be built.
    /// </summary>
    public static IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Render(DaskCluster cluster, RenderSet set, OperatorSettings settings)
    {
        _ = settings;
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
        var build = DaskClusterBuilder.Build(cluster, DaskPlanning.Input(cluster, facility, DaskPlanning.InitialWorkers(cluster, null), tlsData));
        if (!build.IsValid) throw new ArgumentException($"DaskCluster {cluster.Metadata.Name}: {string.Join(" ", build.Errors)}");
        var objects = DaskPlanning.Normalise(build.Objects!);
        var result = new List<IKubernetesObject<V1ObjectMeta>> { objects.SchedulerService, objects.SchedulerDeployment, objects.WorkerDeployment };
        if (objects.TlsSecret is not null) result.Add(objects.TlsSecret);
        if (objects.ExternalRoute is not null) result.Add(objects.ExternalRoute);
        return result;
    }
}
