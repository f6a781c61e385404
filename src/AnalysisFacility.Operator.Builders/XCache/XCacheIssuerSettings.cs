namespace AnalysisFacility.Operator.Builders.XCache;

/// <summary>
/// The issuer an XCacheInstance trusts, resolved by the controller from the AnalysisFacility named in
/// <c>spec.authorization.facilityRef</c> (its issuer URL and service audiences).
/// <paramref name="CaBundleConfigMap"/>: the facility's published issuer CA (files <c>*.crt</c>), added to the image's
/// CA bundle by <see cref="XCacheIssuerTrust"/>, because scitokens-cpp's libcurl only trusts the bundle compiled into
/// it and honours no CA environment variable.
/// </summary>
/// <paramref name="TrustedIssuers"/> are the facility's spec.tokens.trustedIssuers (e.g. the experiment's IAM).
public sealed record XCacheIssuerSettings(string IssuerUrl, IReadOnlyList<string> Audiences, string? CaBundleConfigMap = null,
    IReadOnlyList<XCacheTrustedIssuer>? TrustedIssuers = null);

/// <summary>Another issuer the cache accepts: its own [Issuer] section, its scopes relative to <paramref name="BasePath"/>, its audiences.</summary>
public sealed record XCacheTrustedIssuer(string Name, string Issuer, string BasePath, IReadOnlyList<string> Audiences);
