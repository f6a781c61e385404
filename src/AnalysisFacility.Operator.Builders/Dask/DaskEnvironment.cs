namespace AnalysisFacility.Operator.Builders.Dask;

/// <summary>
/// Dask configuration set through environment variables (DASK_ prefix, __ for nesting; values parsed as Python literals).
/// See https://docs.dask.org/en/stable/configuration.html#environment-variables.
/// </summary>
public static class DaskEnvironment
{
    public const string HttpRoutes = "DASK_DISTRIBUTED__SCHEDULER__HTTP__ROUTES";
    public const string RequireEncryption = "DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION";
    public const string TlsCaFile = "DASK_DISTRIBUTED__COMM__TLS__CA_FILE";
    public const string TlsSchedulerCert = "DASK_DISTRIBUTED__COMM__TLS__SCHEDULER__CERT";
    public const string TlsSchedulerKey = "DASK_DISTRIBUTED__COMM__TLS__SCHEDULER__KEY";
    public const string TlsWorkerCert = "DASK_DISTRIBUTED__COMM__TLS__WORKER__CERT";
    public const string TlsWorkerKey = "DASK_DISTRIBUTED__COMM__TLS__WORKER__KEY";
    public const string TlsClientCert = "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT";
    public const string TlsClientKey = "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY";
    public const string IdleTimeout = "DASK_DISTRIBUTED__SCHEDULER__IDLE_TIMEOUT";
    public const string WorkerName = "DASK_WORKER_NAME";
    public const string BearerTokenFile = "BEARER_TOKEN_FILE";

    /// <summary>
    /// distributed's default scheduler routes (distributed.yaml) plus the HTTP API module, which serves /api/v1
    /// (adaptive_target, retire_workers, get_workers) that the controller's adaptive scaling calls.
    /// </summary>
    public static readonly IReadOnlyList<string> SchedulerRoutes =
    [
        "distributed.http.scheduler.prometheus",
        "distributed.http.scheduler.info",
        "distributed.http.scheduler.json",
        "distributed.http.health",
        "distributed.http.proxy",
        "distributed.http.statics",
        "distributed.http.scheduler.api",
    ];

    /// <summary>The routes as a Python list literal, the form dask parses from the environment.</summary>
    public static string SchedulerRoutesValue => "[" + string.Join(", ", SchedulerRoutes.Select(route => $"'{route}'")) + "]";
}
