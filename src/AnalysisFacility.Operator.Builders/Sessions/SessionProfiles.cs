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

