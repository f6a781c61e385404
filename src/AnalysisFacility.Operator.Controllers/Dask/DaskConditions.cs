namespace AnalysisFacility.Operator.Controllers.Dask;

/// <summary>Condition types and reasons of a DaskCluster.</summary>
public static class DaskConditions
{
    public const string SchedulerReady = "SchedulerReady";
    public const string WorkersReady = "WorkersReady";
    public const string TlsReady = "TlsReady";
    public const string TokenReady = "TokenReady";
    public const string ExternalRouteReady = "ExternalRouteReady";
    /// <summary>The API server refused the IngressRouteTCP (ExternalRouteReady=False).</summary>
    public const string RouteRejected = "RouteRejected";
    public const string AutoscalerReady = "AutoscalerReady";

    public const string InvalidSpec = "InvalidSpec";
    public const string FacilityNotFound = "FacilityNotFound";
    public const string CertificateAuthorityMissing = "CertificateAuthorityMissing";
    public const string CertificateAuthorityInvalid = "CertificateAuthorityInvalid";
    public const string TokenSecretMissing = "TokenSecretMissing";
    public const string TraefikCrdMissing = "TraefikCrdMissing";
    public const string SchedulerUnreachable = "SchedulerUnreachable";
}
