using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Facility;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Builders.Sessions;

/// <summary>
/// A session that contradicts itself or its facility (each part valid on its own, the schema cannot see it): refused
/// with a message naming both sides, never silently bent into something the user did not ask for.
/// </summary>
public static class SessionContradictions
{
    /// <summary>Adds an error for every contradiction between the session, its resolved profile and the facility.</summary>
    public static void Check(UserSession session, FacilityResource facility, ResolvedSessionProfile profile, List<string> errors)
    {
        var spec = session.Spec;
        var facilityName = facility.Metadata.Name;

        if (spec.Dask is { Enabled: true } dask && dask.Minimum > dask.Maximum)
        {
            errors.Add($"spec.dask.minimum ({dask.Minimum}) is above spec.dask.maximum ({dask.Maximum}); set maximum to at least minimum.");
        }

        if (facility.Spec.Sessions.MaxGpus is { } maxGpus && profile.Gpus > maxGpus)
        {
            var source = spec.Gpus is not null ? "spec.gpus" : $"profile '{profile.ProfileName}'";
            errors.Add(maxGpus == 0
                ? $"{source} asks for {profile.Gpus} GPU(s) but AnalysisFacility {facilityName} has no GPUs (spec.sessions.maxGpus is 0); choose a profile without GPUs or set spec.gpus to 0."
                : $"{source} asks for {profile.Gpus} GPU(s) but AnalysisFacility {facilityName} allows at most {maxGpus} per session (spec.sessions.maxGpus).");
        }

        if (spec.StoreName is { Length: > 0 } storeName) CheckStoreOverride(session, facility, storeName, errors);
    }

    /// <summary>
    /// An override may name the user's own directory, a shared directory nobody is mapped to, or a mapped directory
    /// whose entry shares it with this user; never another mapped user's directory or the read-only nobody directory.
    /// </summary>
    private static void CheckStoreOverride(UserSession session, FacilityResource facility, string storeName, List<string> errors)
    {
        var store = facility.Spec.UserStore;
        var facilityName = facility.Metadata.Name;
        if (!store.Enabled)
        {
            errors.Add($"spec.storeName '{storeName}' is set but AnalysisFacility {facilityName} has no user store (spec.userStore.enabled is false); remove spec.storeName.");
            return;
        }
        if (storeName == store.NobodyDirectory)
        {
            errors.Add($"spec.storeName '{storeName}' is the facility's read-only fallback directory (spec.userStore.nobodyDirectory); it is never mounted read-write.");
            return;
        }
        var user = session.Spec.User;
        var holders = store.Users.Where(u => u.StoreName == storeName && !StoreMapping.IsUser(u, user.Name, user.Email)).ToList();
        foreach (var holder in holders.Where(h => !h.SharedWith.Any(s => StoreMapping.Matches(s, user.Name, user.Email))))
        {
            errors.Add($"spec.storeName '{storeName}' is the store directory of user '{holder.User}' in AnalysisFacility {facilityName} (spec.userStore.users); "
                       + $"a session of '{user.Name}' may mount it only when that entry lists the user in sharedWith.");
        }
    }
}

/// <summary>The Dask bounds a session's DaskCluster gets: the session's, capped by the facility (the cap is reported, not hidden).</summary>
public sealed record SessionDaskLimits(int Minimum, int Maximum, string? CapMessage)
{
    /// <summary>
    /// spec.dask.maximum above the facility's maxWorkersPerCluster is capped to it (documented on the field), and a
    /// minimum above the cap with it; <see cref="CapMessage"/> says so for the session's DaskLimits condition.
    /// </summary>
    public static SessionDaskLimits Resolve(SessionDask dask, DaskDefaults defaults, string facilityName)
    {
        var cap = defaults.MaxWorkersPerCluster;
        var maximum = Math.Min(dask.Maximum, cap);
        var minimum = Math.Min(dask.Minimum, maximum);
        string? message = null;
        if (dask.Maximum > cap)
        {
            message = $"spec.dask.maximum ({dask.Maximum}) is above AnalysisFacility {facilityName}'s spec.dask.maxWorkersPerCluster ({cap}); "
                      + $"the session's Dask cluster scales between {minimum} and {maximum} workers.";
        }
        return new SessionDaskLimits(minimum, maximum, message);
    }
}
