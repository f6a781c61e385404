using System.Security.Cryptography;
using System.Text;

namespace AnalysisFacility.Operator.Builders.Common;

/// <summary>Short content hashes for annotations that tell whether what an object was made from has changed.</summary>
public static class Hashes
{
    /// <summary>16 hex digits of the SHA-256 of <paramref name="text"/> (UTF-8).</summary>
    public static string Of(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];

    /// <summary>The same of the parts, each ended by a NUL so ("ab","c") and ("a","bc") differ.</summary>
    public static string Of(IEnumerable<string> parts)
    {
        var text = new StringBuilder();
        foreach (var part in parts) text.Append(part).Append('\0');
        return Of(text.ToString());
    }
}
