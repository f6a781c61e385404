using k8s.Models;

namespace AnalysisFacility.Operator.Builders.Dask;

/// <summary>The desired objects of one DaskCluster. <see cref="TlsSecret"/> and <see cref="ExternalRoute"/> are null when not wanted (delete them).</summary>
public sealed record DaskClusterObjects(
    V1Deployment SchedulerDeployment,
    V1Service SchedulerService,
    V1Deployment WorkerDeployment,
    V1Secret? TlsSecret,
    UnstructuredObject? ExternalRoute,
    DaskClusterAddresses Addresses);
