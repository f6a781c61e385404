using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Facility;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Builders.Sessions;

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
