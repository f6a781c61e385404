namespace AnalysisFacility.Operator.Controllers.XCache;

/// <summary>Condition types and reasons of an XCacheInstance.</summary>
public static class XCacheConditions
{
    public const string TlsReady = "TlsReady";
    public const string ServersReady = "ServersReady";
    public const string InvalidSpec = "InvalidSpec";
    public const string FacilityNotFound = "FacilityNotFound";
    public const string CertificateAuthorityMissing = "CertificateAuthorityMissing";
    public const string TlsSecretMissing = "TlsSecretMissing";
    /// <summary>The credential the cache presents to its origin is in place and unexpired.</summary>
    public const string OriginCredentialsReady = "OriginCredentialsReady";
}
