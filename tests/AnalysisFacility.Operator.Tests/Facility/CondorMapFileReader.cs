using System.Text;
using System.Text.RegularExpressions;

namespace AnalysisFacility.Operator.Tests.Facility;

/// <summary>
/// Reads a CERTIFICATE_MAPFILE the way HTCondor 24.0 does (src/condor_utils/MapFile.cpp at v24.0.23), so tests see
/// what the schedd would make of the generated text:
/// - ParseCanonicalization reads the method with ParseField(no options); '#' methods and blank lines are skipped;
/// - the principal is read with ParseField(options) only when assume_hash is true; otherwise with no options, where a
///   leading '/' is NOT a delimiter, and the entry is always a regex (regex_opts = PCRE2_NOTEMPTY);
/// - with assume_hash, '/.../' (optionally followed by i/U) marks a regex and anything else is an exact hash key;
/// - ParseField: leading blanks skipped; a field starting with '"' (or '/' with options) runs to the matching
///   delimiter, where '\' + delimiter gives the delimiter, '\\' gives '\', '\' + other keeps both; an unquoted field
///   runs verbatim to the next blank;
/// - lookups take the first matching entry in file order and replace \1..\9 with the captured groups;
/// - for SCITOKENS, Authentication::map_authentication_name_to_canonical_name retries with a trailing '/', which
///   only counts when SEC_SCITOKENS_ALLOW_EXTRA_SLASH is true (default false).
/// PCRE2 patterns are run with .NET's engine; the generated ones use only '^', '$', '(.*)' and '\' + punctuation,
/// which mean the same in both.
/// </summary>
public sealed class CondorMapFileReader
{
    private sealed record Entry(string Method, string Principal, bool IsRegex, bool Caseless, string Canonicalization);

    private readonly List<Entry> _entries = [];

    public IReadOnlyList<string> Problems { get; }

    private CondorMapFileReader(List<string> problems) => Problems = problems;

    public static CondorMapFileReader Parse(string text, bool assumeHash = false)
    {
        var problems = new List<string>();
        var reader = new CondorMapFileReader(problems);
        var lineNumber = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNumber++;
            if (line.Length == 0) continue;
            var offset = ParseField(line, 0, out var method, withOptions: false, out _, out _);
            if (method.Length == 0 || method[0] == '#') continue;
            offset = ParseField(line, offset, out var principal, withOptions: assumeHash, out var slashDelimited, out var caseless);
            ParseField(line, offset, out var canonicalization, withOptions: false, out _, out _);
            if (principal.Length == 0 || canonicalization.Length == 0)
            {
                problems.Add($"line {lineNumber}: skipped (Method={method}) (Principal={principal}) (Canon={canonicalization})");
                continue;
            }
            var isRegex = !assumeHash || slashDelimited;
            if (isRegex)
            {
                try { _ = new Regex(principal); }
                catch (ArgumentException e) { problems.Add($"line {lineNumber}: regex '{principal}' does not compile: {e.Message}"); continue; }
            }
            reader._entries.Add(new Entry(method, principal, isRegex, caseless, canonicalization));
        }
        return reader;
    }

    /// <summary>The canonical name HTCondor would give <paramref name="principal"/> authenticated by <paramref name="method"/>, or null.</summary>
    public string? Map(string method, string principal, bool allowExtraSlash = false)
    {
        var mapped = Lookup(method, principal);
        if (mapped is null && method == "SCITOKENS" && allowExtraSlash) mapped = Lookup(method, principal + "/");
        return mapped;
    }

    private string? Lookup(string method, string principal)
    {
        foreach (var entry in _entries.Where(e => e.Method == method))
        {
            if (!entry.IsRegex)
            {
                if (entry.Principal == principal) return entry.Canonicalization;
                continue;
            }
            var match = Regex.Match(principal, entry.Principal, entry.Caseless ? RegexOptions.IgnoreCase : RegexOptions.None);
            if (!match.Success) continue;
            return Regex.Replace(entry.Canonicalization, @"\\([0-9])", m =>
                int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) is var g && g < match.Groups.Count ? match.Groups[g].Value : "");
        }
        return null;
    }

    private static int ParseField(string line, int offset, out string field, bool withOptions, out bool slashDelimited, out bool caseless)
    {
        var text = new StringBuilder();
        slashDelimited = false;
        caseless = false;
        while (offset < line.Length && line[offset] is ' ' or '\t' or '\n') offset++;
        var first = offset < line.Length ? line[offset] : '\0';
        var multiword = first == '"' || (first == '/' && withOptions);
        var end = multiword ? first : '\0';
        if (multiword)
        {
            slashDelimited = first == '/';
            offset++;
        }
        while (offset < line.Length)
        {
            if (multiword)
            {
                if (line[offset] == end)
                {
                    offset++;
                    if (end == '/')
                    {
                        while (offset < line.Length && line[offset] is 'i' or 'U')
                        {
                            if (line[offset] == 'i') caseless = true;
                            offset++;
                        }
                    }
                    break;
                }
                if (line[offset] == '\\' && ++offset < line.Length)
                {
                    if (line[offset] == end) text.Append(line[offset]);
                    else if (line[offset] == '\\') text.Append('\\');
                    else text.Append('\\').Append(line[offset]);
                }
                else
                {
                    text.Append(line[offset]);
                }
                offset++;
            }
            else
            {
                if (line[offset] is ' ' or '\t' or '\n') break;
                text.Append(line[offset]);
                offset++;
            }
        }
        field = text.ToString();
        return offset;
    }
}
