using AnalysisFacility.Operator.Api.V1Alpha1;

namespace AnalysisFacility.Operator.Builders.Facility;

/// <summary>Maps hub users to their store directory, as Coffea-casa's user_to_cmsuser did.</summary>
public static class StoreMapping
{
    /// <summary>The store name of <paramref name="user"/>: the spec list first, then the e-mail local part when enabled; null when none.</summary>
    public static string? StoreName(UserStoreSpec store, string user)
    {
        var entry = store.Users.FirstOrDefault(u => string.Equals(u.User, user, StringComparison.Ordinal));
        if (entry is not null) return entry.StoreName;
        if (!store.MapByEmailLocalPart) return null;
        var at = user.IndexOf('@');
        if (at <= 0) return null;
        var localPart = user[..at];
        return LocalPartDirectory(store, localPart);
    }

    /// <summary>
    /// The directory an e-mail local part maps to by the fallback, or null: not a directory name, the nobody directory,
    /// or a name the explicit list gives to a user (never handed to someone else by the fallback).
    /// </summary>
    public static string? LocalPartDirectory(UserStoreSpec store, string localPart) =>
        !System.Text.RegularExpressions.Regex.IsMatch(localPart, Patterns.StoreName) || localPart == store.NobodyDirectory
        || store.Users.Any(u => u.StoreName == localPart)
            ? null
            : localPart;

    /// <summary>Whether a mapping entry is the entry of the user with this name or e-mail (e-mails compare case-insensitively).</summary>
    public static bool IsUser(StoreUserMapping entry, string userName, string? email) => Matches(entry.User, userName, email);

    /// <summary>Whether a user name from the mapping (an entry's user or sharedWith) names this user.</summary>
    public static bool Matches(string mapped, string userName, string? email) =>
        mapped == userName || (email is not null && string.Equals(mapped, email, StringComparison.OrdinalIgnoreCase));

    /// <summary>What a session of <paramref name="user"/> mounts: its own directory read-write, else the nobody directory read-only.</summary>
    public static StoreAssignment Resolve(UserStoreSpec store, string user)
    {
        var name = StoreName(store, user);
        return name is null
            ? new StoreAssignment(store.ClaimName, store.NobodyDirectory, true, null, store.MountPath)
            : new StoreAssignment(store.ClaimName, name, false, name, store.MountPath);
    }
}
