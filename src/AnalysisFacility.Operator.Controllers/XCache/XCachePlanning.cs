using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.XCache;
using AnalysisFacility.Operator.Tokens.Issuance;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Controllers.XCache;

/// <summary>Planning shared by the reconciler and <see cref="XCacheRendering"/>.</summary>
public static class XCachePlanning
{
    /// <summary>The facility the cache trusts for tokens (and whose CA signs its certificate), or null.</summary>
    public static string? FacilityRef(XCacheInstance instance) =>
        instance.Spec.Authorization?.FacilityRef is { Length: > 0 } facility ? facility : null;

    /// <summary>
    /// The facility's issuer URL and the audiences its tokens carry (its configured audiences, and the WLCG "any"
    /// audience when it mints that), or the reasons they are unusable.
    /// </summary>
    public static (XCacheIssuerSettings? Settings, IReadOnlyList<string> Errors) IssuerOf(FacilityResource facility)
    {
        var result = IssuerSettings.FromSpec(facility.Spec.Tokens, string.IsNullOrEmpty(facility.Metadata.Uid) ? "unknown" : facility.Metadata.Uid);
        if (!result.Succeeded) return (null, result.Errors.Select(e => $"AnalysisFacility {facility.Metadata.Name}: {e}").ToList());
        var issuer = result.Value!;
        var audiences = issuer.Audiences.ToList();
        if (issuer.AllowAnyAudience && !audiences.Contains(IssuerSettings.AnyAudience)) audiences.Add(IssuerSettings.AnyAudience);
        var trusted = facility.Spec.Tokens.TrustedIssuers
            .Select(t => new XCacheTrustedIssuer(t.Name, t.Issuer, t.BasePath, [.. t.Audiences])).ToList();
        return (new XCacheIssuerSettings(issuer.Issuer, audiences, TrustedIssuers: trusted), []);
    }
}
