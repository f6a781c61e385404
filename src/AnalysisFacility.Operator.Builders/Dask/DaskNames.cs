using AnalysisFacility.Operator.Builders.Common;

namespace AnalysisFacility.Operator.Builders.Dask;

/// <summary>Names, ports and labels of the objects that make up one DaskCluster.</summary>
public static class DaskNames
{
    public const string Application = "dask";
    public const string SchedulerComponent = "scheduler";
    public const string WorkerComponent = "worker";

    public const int CommPort = 8786;
    public const int DashboardPort = 8787;
    public const int WorkerDashboardPort = 8788;
    /// <summary>Fixed worker listen port so NetworkPolicies can name it (dask picks a random one otherwise).</summary>
    public const int WorkerCommPort = 8789;

    public const string CommPortName = "tcp-comm";
    public const string DashboardPortName = "http-dashboard";

    public static string Scheduler(string clusterName) => Names.Object(clusterName, "scheduler");
    public static string Workers(string clusterName) => Names.Object(clusterName, "worker");
    public static string TlsSecret(string clusterName) => Names.Object(clusterName, "dask-tls");
    public static string Route(string clusterName) => Names.Object(clusterName, "dask-sni");

    /// <summary>Cluster-internal DNS name of the scheduler Service.</summary>
    public static string SchedulerHost(string clusterName, string @namespace) => $"{Scheduler(clusterName)}.{@namespace}.svc.cluster.local";

    /// <summary>The external SNI name, as in Coffea-casa: &lt;name&gt;.dask.&lt;domain&gt;.</summary>
    public static string ExternalHost(string clusterName, string domain) => $"{clusterName}.dask.{domain}";
}
