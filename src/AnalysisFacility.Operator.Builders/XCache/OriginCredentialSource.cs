namespace AnalysisFacility.Operator.Builders.XCache;

/// <summary>Where the cache's credential for the origin comes from.</summary>
public enum OriginCredentialSource
{
    /// <summary>No credential: the cache reads anonymously.</summary>
    None,
    /// <summary>A robot token the operator mints with a facility's issuer into <see cref="XCacheOriginClient.RobotTokenSecretName"/>.</summary>
    FacilityRobotToken,
    /// <summary>A token someone else keeps fresh in the admin's Secret.</summary>
    TokenSecret,
    /// <summary>An x509 proxy in the admin's Secret.</summary>
    X509Proxy,
}
