using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;
using AnalysisFacility.Operator.Api.V1Alpha1;

namespace AnalysisFacility.Operator.Tokens.Issuance;

/// <summary>
/// The capability scopes of the WLCG Common JWT Profile this issuer grants, and the checks every scope passes
/// before it goes into a token. Storage paths must be absolute and normalised: consumers prefix-match them, so
/// anything that a server could decode or normalise differently (dot segments, percent-encoding, backslashes,
/// control characters) is refused rather than "cleaned up".
/// </summary>
public static partial class ScopeRules
{
    /// <summary>Scopes that need a path (storage.*).</summary>
    public static IReadOnlyList<string> StorageScopes { get; } = ["storage.read", "storage.create", "storage.modify", "storage.stage"];

    /// <summary>Scopes that take no path (compute.*; HTCondor needs create, modify and cancel to submit).</summary>
    public static IReadOnlyList<string> ComputeScopes { get; } = ["compute.read", "compute.create", "compute.modify", "compute.cancel"];

    public const string UserPlaceholder = "{user}";

    /// <summary>Checks one scope; returns null when valid, otherwise why not (naming <paramref name="field"/> and the scope).</summary>
    public static string? Check(string scope, string field) =>
        Problem(scope) is { } problem ? $"{field}: scope '{Printable(scope)}' {problem}" : null;

    /// <summary>Checks a scope template of the policy: {user} is replaced by a valid store name before the checks.</summary>
    public static string? CheckTemplate(string template, string field) =>
        Problem(template.Replace(UserPlaceholder, "user", StringComparison.Ordinal)) is { } problem
            ? $"{field}: scope '{Printable(template)}' {problem}"
            : null;

    private static string? Problem(string scope)
    {
        if (string.IsNullOrEmpty(scope)) return "is empty";
        foreach (var c in scope)
        {
            if (char.IsControl(c)) return $"contains a control character (U+{(int)c:X4}); not allowed";
            if (char.IsWhiteSpace(c)) return "contains whitespace; scopes are space-separated single words";
        }
        var colon = scope.IndexOf(':');
        var name = colon < 0 ? scope : scope[..colon];
        var path = colon < 0 ? null : scope[(colon + 1)..];
        if (StorageScopes.Contains(name))
        {
            if (string.IsNullOrEmpty(path)) return $"has no path; storage scopes need an absolute path, e.g. {name}:/store";
            return CheckPath(path);
        }
        if (ComputeScopes.Contains(name))
        {
            return path is null ? null : $"has a path; compute scopes take none (use '{name}')";
        }
        return $"is unknown ('{Printable(name)}'); allowed: {string.Join(", ", StorageScopes.Concat(ComputeScopes))}";
    }

    /// <summary>Why <paramref name="path"/> is not an absolute normalised path that cannot escape its prefix, or null.</summary>
    public static string? CheckPath(string path)
    {
        if (!path.StartsWith('/')) return "has a relative path; it must start with '/'";
        if (path.Contains('%')) return "has a percent-encoded character in its path; not allowed (%2e%2e, %2F and double encoding could escape the prefix)";
        if (path.Contains('\\')) return "has a backslash in its path; not allowed";
        if (path.Any(char.IsControl)) return "has a control character (e.g. NUL) in its path; not allowed";
        if (path == "/") return null;
        if (path.EndsWith('/')) return "has a trailing '/' in its path; write it without";
        foreach (var segment in path[1..].Split('/'))
        {
            if (segment.Length == 0) return "has an empty segment ('//') in its path; it must be normalised";
            if (segment is "." or "..") return "has a '.' or '..' segment in its path; it must be normalised";
        }
        var bad = path.FirstOrDefault(c => !(char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '_' or '~' or '-'));
        return bad != default ? $"has the character '{bad}' in its path; allowed: letters, digits, '.', '_', '~', '-' and '/'" : null;
    }

    public static bool IsValidUserName([NotNullWhen(true)] string? name) => name is not null && UserNamePattern().IsMatch(name);
    public static bool IsValidStoreName([NotNullWhen(true)] string? name) => name is not null && StoreNamePattern().IsMatch(name);
    public static bool IsValidGroup([NotNullWhen(true)] string? group) => group is not null && group.Length <= 256 && GroupPattern().IsMatch(group);

    /// <summary>Shows untrusted text in an error without control characters (names can be attacker-chosen).</summary>
    public static string Printable(string text)
    {
        var cleaned = new string(text.Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return cleaned.Length > 80 ? cleaned[..80] + "…" : cleaned;
    }

    [GeneratedRegex(Patterns.UserName)] private static partial Regex UserNamePattern();
    [GeneratedRegex(Patterns.StoreName)] private static partial Regex StoreNamePattern();
    [GeneratedRegex(Patterns.WlcgGroup)] private static partial Regex GroupPattern();
}
