using System.Text.RegularExpressions;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Tokens.Keys;

namespace AnalysisFacility.Operator.Tokens.Issuance;

/// <summary>The validated issuer configuration of one facility (from <see cref="TokenIssuerSpec"/>).</summary>
public sealed partial class IssuerSettings
{
    /// <summary>The WLCG profile's audience meaning "any relying party".</summary>
    public const string AnyAudience = "https://wlcg.cern.ch/jwt/v1/any";

    private IssuerSettings(string issuer, string facilityUid, TimeSpan lifetime, IReadOnlyList<string> audiences,
        bool allowAnyAudience, IReadOnlyList<string> defaultScopes, IReadOnlyDictionary<string, IReadOnlyList<string>> groupScopes,
        RotationPolicy rotation)
    {
        Issuer = issuer;
        FacilityUid = facilityUid;
        Lifetime = lifetime;
        Audiences = audiences;
        AllowAnyAudience = allowAnyAudience;
        DefaultScopes = defaultScopes;
        GroupScopes = groupScopes;
        Rotation = rotation;
    }

    public string Issuer { get; }
    public string FacilityUid { get; }
    public TimeSpan Lifetime { get; }
    /// <summary>The facility's audiences: tokens carry these unless <see cref="AllowAnyAudience"/>.</summary>
    public IReadOnlyList<string> Audiences { get; }
    public bool AllowAnyAudience { get; }
    public IReadOnlyList<string> DefaultScopes { get; }
    public IReadOnlyDictionary<string, IReadOnlyList<string>> GroupScopes { get; }
    public RotationPolicy Rotation { get; }

    /// <summary>
    /// Validates the spec. <paramref name="extraAudiences"/> are the audiences of consumers the facility configures
    /// itself (e.g. the schedd's default); <paramref name="facilityUid"/> makes subjects unique per facility.
    /// </summary>
    public static IssuanceResult<IssuerSettings> FromSpec(TokenIssuerSpec spec, string facilityUid, IEnumerable<string>? extraAudiences = null)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(facilityUid)) errors.Add("metadata.uid: the facility has no UID yet");
        if (spec.Issuer is null || !IssuerPattern().IsMatch(spec.Issuer))
        {
            errors.Add($"spec.tokens.issuer: '{ScopeRules.Printable(spec.Issuer ?? "")}' is not an HTTPS URL without trailing slash, e.g. https://af.example.org/issuer");
        }

        if (!DurationText.TryParse(spec.Lifetime, out var lifetime))
        {
            errors.Add($"spec.tokens.lifetime: '{ScopeRules.Printable(spec.Lifetime ?? "")}' is not a duration such as 1h or 90m");
        }
        else if (!TokenLifetimes.IsWithinBounds(lifetime))
        {
            errors.Add($"spec.tokens.lifetime: {spec.Lifetime} is outside the WLCG profile's bounds for access tokens; allowed: 15m to 6h");
        }

        var audiences = new List<string>();
        foreach (var audience in spec.Audiences.Concat(extraAudiences ?? []))
        {
            if (CheckAudience(audience) is { } problem) errors.Add($"spec.tokens.audiences: {problem}");
            else if (!audiences.Contains(audience, StringComparer.Ordinal)) audiences.Add(audience);
        }
        if (audiences.Count == 0 && !spec.AllowAnyAudience)
        {
            errors.Add("spec.tokens.audiences: no audience; list the XCache and schedd audiences, or set allowAnyAudience");
        }

        var defaults = new List<string>();
        for (var i = 0; i < spec.ScopePolicy.Default.Count; i++)
        {
            var scope = spec.ScopePolicy.Default[i];
            if (ScopeRules.CheckTemplate(scope, $"spec.tokens.scopePolicy.default[{i}]") is { } problem) errors.Add(problem);
            else if (!defaults.Contains(scope)) defaults.Add(scope);
        }
        var groups = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        for (var g = 0; g < spec.ScopePolicy.Groups.Count; g++)
        {
            var entry = spec.ScopePolicy.Groups[g];
            if (!ScopeRules.IsValidGroup(entry.Group))
            {
                errors.Add($"spec.tokens.scopePolicy.groups[{g}].group: '{ScopeRules.Printable(entry.Group)}' is not a WLCG group such as /cms or /cms/higgs");
                continue;
            }
            var scopes = new List<string>(groups.TryGetValue(entry.Group, out var existing) ? existing : []);
            for (var i = 0; i < entry.Scopes.Count; i++)
            {
                if (ScopeRules.CheckTemplate(entry.Scopes[i], $"spec.tokens.scopePolicy.groups[{g}].scopes[{i}]") is { } problem) errors.Add(problem);
                else if (!scopes.Contains(entry.Scopes[i])) scopes.Add(entry.Scopes[i]);
            }
            groups[entry.Group] = scopes;
        }

        var rotation = RotationPolicy.FromSpec(spec);
        errors.AddRange(rotation.Errors);
        if (errors.Count > 0) return IssuanceResult<IssuerSettings>.Fail(errors);
        return IssuanceResult<IssuerSettings>.Ok(new IssuerSettings(spec.Issuer!, facilityUid, lifetime, audiences,
            spec.AllowAnyAudience, defaults, groups, rotation.Value!));
    }

    /// <summary>The scopes of a user: defaults plus the extras of each of the user's groups, {user} replaced.</summary>
    public IReadOnlyList<string> ScopesFor(string storeName, IEnumerable<string> groups)
    {
        var templates = DefaultScopes.Concat(groups.SelectMany(g => GroupScopes.TryGetValue(g, out var extra) ? extra : []));
        return templates.Select(t => t.Replace(ScopeRules.UserPlaceholder, storeName, StringComparison.Ordinal)).Distinct(StringComparer.Ordinal).ToList();
    }

    private static string? CheckAudience(string? audience)
    {
        if (string.IsNullOrEmpty(audience)) return "an audience is empty";
        if (audience.Length > 256) return $"'{ScopeRules.Printable(audience)}' is longer than 256 characters";
        if (audience.Any(c => char.IsControl(c) || char.IsWhiteSpace(c))) return $"'{ScopeRules.Printable(audience)}' contains whitespace or control characters";
        if (audience == AnyAudience) return $"'{AnyAudience}' is the WLCG 'any' audience; set allowAnyAudience instead of listing it";
        return null;
    }

    [GeneratedRegex(Patterns.IssuerUrl)] private static partial Regex IssuerPattern();
}
