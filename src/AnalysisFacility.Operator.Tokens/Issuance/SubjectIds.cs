using System.Security.Cryptography;
using System.Text;

namespace AnalysisFacility.Operator.Tokens.Issuance;

/// <summary>
/// Opaque, stable subjects: a name-based UUID (RFC 9562 version 5) of the facility UID and the user name. The same
/// user of the same facility always gets the same sub; a re-created facility (new UID) never reuses one; the user
/// name itself never appears in the token's sub.
/// </summary>
public static class SubjectIds
{
    // Fixed namespace for this operator's subjects (a random UUID chosen once).
    private static readonly Guid Namespace = new("6f3a5c1e-4b7d-4e0a-9c1f-2d8b7a9e5f31");

    public static string For(string facilityUid, string userName)
    {
        var name = Encoding.UTF8.GetBytes($"{facilityUid}\n{userName}");
        var ns = Namespace.ToByteArray(bigEndian: true);
        var hash = SHA1.HashData([.. ns, .. name]);
        var bytes = hash.AsSpan(0, 16).ToArray();
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x50); // version 5
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(bytes, bigEndian: true).ToString("D");
    }
}
