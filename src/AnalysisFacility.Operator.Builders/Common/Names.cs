using System.Security.Cryptography;
using System.Text;

namespace AnalysisFacility.Operator.Builders.Common;

/// <summary>Derives valid, stable, collision-resistant Kubernetes object names.</summary>
public static class Names
{
    /// <summary>
    /// A DNS-1123 label made of <paramref name="parts"/> joined by '-', lower-cased, invalid characters replaced.
    /// When the result would exceed <paramref name="maxLength"/> or had to be altered, a short hash of the
    /// original input is appended so that different inputs never map to the same name.
    /// </summary>
    public static string Join(int maxLength, params string[] parts)
    {
        var raw = string.Join("-", parts);
        var cleaned = new StringBuilder();
        foreach (var c in raw.ToLowerInvariant())
        {
            cleaned.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
        }
        var text = CollapseDashes(cleaned.ToString()).Trim('-');
        var altered = text != raw;
        if (!altered && text.Length <= maxLength) return text;

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(raw)))[..8];
        var room = maxLength - hash.Length - 1;
        var head = text.Length > room ? text[..room].TrimEnd('-') : text;
        return head.Length == 0 ? hash : $"{head}-{hash}";
    }

    /// <summary>A name for an object (63 characters: fits labels, Services and StatefulSet pods).</summary>
    public static string Object(params string[] parts) => Join(52, parts);

    private static string CollapseDashes(string value)
    {
        var builder = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            if (c == '-' && builder.Length > 0 && builder[^1] == '-') continue;
            builder.Append(c);
        }
        return builder.ToString();
    }
}
