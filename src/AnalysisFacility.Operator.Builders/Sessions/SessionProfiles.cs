using System.Text.RegularExpressions;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Facility;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Builders.Sessions;

/// <summary>Image and resources a session's notebook container gets, after profile and overrides.</summary>
public sealed record ResolvedSessionProfile(string? ProfileName, string Image, string Cores, string Memory, int Gpus);

/// <summary>Resolves which profile a session uses and applies the session's explicit overrides.</summary>
public static class SessionProfiles
{
    /// <summary>
    /// The named profile, else the profile marked default, else the first one, else the facility's session image
    /// with the profile defaults; then spec.image/cores/memory/gpus override field by field.
    /// Returns null and adds an error when a named profile does not exist.
    /// </summary>
    public static ResolvedSessionProfile? Resolve(UserSessionSpec spec, AnalysisFacilitySpec facility, List<string> errors)
    {
        var profiles = facility.Hub.Profiles;
        SessionProfile? profile;
        if (!string.IsNullOrEmpty(spec.Profile))
        {
            profile = profiles.FirstOrDefault(p => p.Name == spec.Profile);
            if (profile is null)
            {
                var offered = profiles.Count == 0
                    ? "the facility defines no profiles (leave spec.profile empty)"
                    : "the facility offers: " + string.Join(", ", profiles.Select(p => p.Name));
                errors.Add($"spec.profile: unknown profile '{spec.Profile}'; {offered}.");
                return null;
            }
        }
        else
        {
            profile = profiles.FirstOrDefault(p => p.Default) ?? profiles.FirstOrDefault();
        }

        var defaults = new SessionProfile();
        return new ResolvedSessionProfile(
            profile?.Name,
            spec.Image ?? profile?.Image ?? facility.Sessions.Image,
            spec.Cores ?? profile?.Cores ?? defaults.Cores,
            spec.Memory ?? profile?.Memory ?? defaults.Memory,
            spec.Gpus ?? profile?.Gpus ?? defaults.Gpus);
    }
}

/// <summary>Checks a session against its facility; every message names the field, what is wrong and what is allowed.</summary>
public static class SessionValidation
{
    private static readonly Regex UserName = new(Patterns.UserName, RegexOptions.CultureInvariant);
    private static readonly Regex StoreName = new(Patterns.StoreName, RegexOptions.CultureInvariant);
    private static readonly Regex Quantity = new(Patterns.Quantity, RegexOptions.CultureInvariant);
    private static readonly Regex Image = new(Patterns.Image, RegexOptions.CultureInvariant);
    private static readonly Regex DnsLabel = new(Patterns.DnsLabel, RegexOptions.CultureInvariant);
    private static readonly Regex DnsSubdomain = new(Patterns.DnsSubdomain, RegexOptions.CultureInvariant);
    private static readonly Regex WlcgGroup = new(Patterns.WlcgGroup, RegexOptions.CultureInvariant);

    /// <summary>Errors in the session itself and in how it refers to the facility (empty when valid).</summary>
    public static List<string> Validate(UserSession session, FacilityResource? facility)
    {
        var errors = new List<string>();
        var spec = session.Spec;
        var ns = session.Metadata?.NamespaceProperty;

        if (string.IsNullOrEmpty(session.Metadata?.Name)) errors.Add("metadata.name: the session has no name.");
        if (string.IsNullOrEmpty(ns)) errors.Add("metadata.namespace: the session has no namespace.");

        if (string.IsNullOrEmpty(spec.FacilityRef))
        {
            errors.Add("spec.facilityRef: required; name the AnalysisFacility of this namespace the session belongs to.");
        }
        else if (!DnsLabel.IsMatch(spec.FacilityRef))
        {
            errors.Add($"spec.facilityRef: '{spec.FacilityRef}' is not a valid object name (lower-case letters, digits and '-').");
        }
        else if (facility is null)
        {
            errors.Add($"spec.facilityRef: AnalysisFacility '{spec.FacilityRef}' does not exist in namespace '{ns}'; sessions must live in their facility's namespace.");
        }
        else if (facility.Metadata?.Name != spec.FacilityRef || facility.Metadata?.NamespaceProperty != ns)
        {
            errors.Add($"spec.facilityRef: refers to '{spec.FacilityRef}' but the facility given is '{facility.Metadata?.NamespaceProperty}/{facility.Metadata?.Name}'.");
        }

        if (!UserName.IsMatch(spec.User.Name))
        {
            errors.Add($"spec.user.name: '{spec.User.Name}' is not a valid user name; use 1 to 64 letters, digits and . _ @ + -, starting with a letter or digit.");
        }
        foreach (var group in spec.User.Groups.Where(g => !WlcgGroup.IsMatch(g)))
        {
            errors.Add($"spec.user.groups: '{group}' is not a WLCG group; use a path such as /cms or /cms/higgs.");
        }
        if (spec.StoreName is not null && !StoreName.IsMatch(spec.StoreName))
        {
            errors.Add($"spec.storeName: '{spec.StoreName}' is not a single directory name; use 1 to 64 letters, digits and . _ -, starting with a letter or digit.");
        }
        if (spec.Image is not null && !Image.IsMatch(spec.Image))
        {
            errors.Add($"spec.image: '{spec.Image}' is not a container image reference.");
        }
        CheckQuantity(spec.Cores, "spec.cores", "2 or 500m", errors);
        CheckQuantity(spec.Memory, "spec.memory", "4Gi", errors);
        if (spec.Gpus is < 0 or > 16) errors.Add($"spec.gpus: {spec.Gpus} is out of range; allowed are 0 to 16.");
        if (spec.HubEnvSecretName is not null && !DnsSubdomain.IsMatch(spec.HubEnvSecretName))
        {
            errors.Add($"spec.hubEnvSecretName: '{spec.HubEnvSecretName}' is not a valid Secret name.");
        }
        return errors;
    }

    /// <summary>Errors in the store name the controller resolved (it may come from the facility mapping or an e-mail).</summary>
    public static void ValidateStoreName(string? storeName, List<string> errors)
    {
        if (storeName is not null && !StoreName.IsMatch(storeName))
        {
            errors.Add($"store name: '{storeName}' is not a single directory name; use 1 to 64 letters, digits and . _ -, starting with a letter or digit.");
        }
    }

    private static void CheckQuantity(string? value, string field, string example, List<string> errors)
    {
        if (value is not null && !Quantity.IsMatch(value))
        {
            errors.Add($"{field}: '{value}' is not a Kubernetes quantity (e.g. {example}).");
        }
    }
}

/// <summary>Where a session's store directory comes from.</summary>
public static class SessionStore
{
    /// <summary>
    /// The user's store directory: spec.storeName, else the facility mapping entry for the user name, else (when
    /// mapByEmailLocalPart) the local part of the e-mail (or of an e-mail-style user name), else null (nobody directory).
    /// Null as well when the facility has no user store.
    /// </summary>
    public static string? ResolveStoreName(UserSession session, FacilityResource facility)
    {
        var store = facility.Spec.UserStore;
        if (!store.Enabled) return null;
        if (!string.IsNullOrEmpty(session.Spec.StoreName)) return session.Spec.StoreName;

        var user = session.Spec.User;
        var mapped = store.Users.FirstOrDefault(u => u.User == user.Name)
            ?? (user.Email is null ? null : store.Users.FirstOrDefault(u => string.Equals(u.User, user.Email, StringComparison.OrdinalIgnoreCase)));
        if (mapped is not null) return mapped.StoreName;

        if (!store.MapByEmailLocalPart) return null;
        var email = user.Email ?? (user.Name.Contains('@') ? user.Name : null);
        if (email is null) return null;
        // A local part that is no valid directory name (e.g. "a+b"), the nobody directory or another user's mapped
        // directory gets the nobody directory rather than a refusal.
        return StoreMapping.LocalPartDirectory(store, email[..email.IndexOf('@')]);
    }
}
