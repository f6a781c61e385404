using System.Text;

namespace AnalysisFacility.Operator.Builders.Facility;

/// <summary>One SCITOKENS identity the schedd admits: tokens of <paramref name="Issuer"/> with subject <paramref name="Subject"/> act as <paramref name="Identity"/>.</summary>
public sealed record PoolPrincipal(string Issuer, string Subject, string Identity);

/// <summary>
/// The CERTIFICATE_MAPFILE (HTCondor manual, "The Unified Map File for Authentication"). The file is read with
/// CERTIFICATE_MAPFILE_ASSUME_HASH_KEYS at its default, False (src/condor_io/authentication.cpp, v24.0), and then
/// MapFile::ParseCanonicalization passes ParseField no regex options (src/condor_utils/MapFile.cpp, v24.0): every
/// principal field is a PCRE2 regular expression, a leading '/' is an ordinary character, an unquoted field ends at
/// the first blank and is taken verbatim. So each line is an unquoted, anchored regex with every non-alphanumeric
/// character escaped by '\' (a backslash before a non-alphanumeric character always means that character in PCRE2).
/// The regex form is kept (instead of hash keys) because the FS line needs a pattern and a capture.
/// </summary>
public static class CondorMapFile
{
    public static string Generate(IEnumerable<PoolPrincipal> principals, string uidDomain)
    {
        var text = new StringBuilder();
        text.AppendLine("# SCITOKENS principals are '<iss>,<sub>' (Condor_Auth_SSL::server_verify_scitoken); each admitted one maps to its pool identity.");
        text.AppendLine("# Keys are regular expressions (CERTIFICATE_MAPFILE_ASSUME_HASH_KEYS = False), anchored and fully escaped.");
        foreach (var principal in principals.Distinct().OrderBy(p => p.Issuer, StringComparer.Ordinal).ThenBy(p => p.Subject, StringComparer.Ordinal))
        {
            text.AppendLine($"SCITOKENS ^{EscapeRegex(principal.Issuer)},{EscapeRegex(principal.Subject)}$ {principal.Identity}@{uidDomain}");
        }
        text.AppendLine("# Local tools inside the pods keep their Unix identity.");
        text.AppendLine("FS ^(.*)$ \\1");
        return text.ToString();
    }

    /// <summary>
    /// Escapes a literal for a PCRE2 pattern in an unquoted map-file field: every ASCII character other than a letter or
    /// digit gets a backslash. Blanks and control characters would end or break the field, so they are refused.
    /// </summary>
    public static string EscapeRegex(string literal)
    {
        var builder = new StringBuilder(literal.Length * 2);
        foreach (var c in literal)
        {
            if (c <= ' ' || c >= 0x7F) throw new ArgumentException($"a map-file principal cannot contain '{(int)c:x}' (blank, control or non-ASCII)", nameof(literal));
            if (!char.IsAsciiLetterOrDigit(c)) builder.Append('\\');
            builder.Append(c);
        }
        return builder.ToString();
    }
}
