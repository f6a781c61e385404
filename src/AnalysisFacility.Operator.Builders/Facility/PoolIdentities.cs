using System.Security.Cryptography;
using System.Text;

namespace AnalysisFacility.Operator.Builders.Facility;

/// <summary>
/// Pool identities: the part before '@' of a mapped HTCondor user, which becomes the job's Owner. The schedd lets
/// only the Owner (or a QUEUE_SUPER_USERS member) act on a job (UserCheck2 in src/condor_schedd.V6/qmgmt.cpp,
/// v24.0), so two people must never get the same identity, and nobody may get a super user's.
/// </summary>
public static class PoolIdentities
{
    /// <summary>
    /// Names the pool gives special meaning: root and condor are refused as owners by 24.0 (qmgmt.cpp) and condor is a
    /// queue super user here; condor_pool is the daemons' identity; nobody is the account jobs run as.
    /// </summary>
    public static readonly IReadOnlySet<string> Reserved = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        { "root", "condor", "condor_pool", "nobody", "LOCAL_SYSTEM" };

    /// <summary>
    /// The identity of a hub user. A name of only [a-z0-9.-] is used as it is; any other name is lower-cased, its
    /// other characters replaced by '_', and 10 hex digits of its SHA-256 appended after '_'. Identities of the first
    /// kind never contain '_', so the mapping is injective up to a 40-bit hash collision of names that already agree
    /// after replacement. Reserved names always take the hashed form.
    /// </summary>
    public static string ForHubUser(string user)
    {
        if (user.Length > 0 && user.All(IsPlain) && char.IsAsciiLetterLower(user[0]) && !Reserved.Contains(user)) return user;
        var replaced = new string(user.ToLowerInvariant().Select(c => IsPlain(c) ? c : '_').ToArray());
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(user)))[..10];
        return $"u_{replaced}_{hash}";
    }

    /// <summary>The identity of a robot client of the facility's issuer.</summary>
    public static string ForRobot(string clientId, string? identity) => identity ?? $"robot-{clientId}";

    /// <summary>Why an identity the admin chose cannot be used, or null.</summary>
    public static string? Check(string identity, string field) =>
        Reserved.Contains(identity) ? $"{field}: '{identity}' is reserved for the pool (root, condor, condor_pool, nobody)" : null;

    private static bool IsPlain(char c) => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '-';
}
