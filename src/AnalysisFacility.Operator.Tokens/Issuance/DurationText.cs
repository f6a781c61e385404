using System.Text.RegularExpressions;
using AnalysisFacility.Operator.Api.V1Alpha1;

namespace AnalysisFacility.Operator.Tokens.Issuance;

/// <summary>Parses the spec's Go-style durations made of hours, minutes and seconds (1h, 90m, 1h30m, 45s).</summary>
public static partial class DurationText
{
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text) || !DurationPattern().IsMatch(text)) return false;
        long seconds = 0;
        foreach (Match part in PartPattern().Matches(text))
        {
            if (!long.TryParse(part.Groups[1].Value, out var value) || value > 10_000_000) return false;
            seconds += part.Groups[2].Value switch { "h" => value * 3600, "m" => value * 60, _ => value };
        }
        duration = TimeSpan.FromSeconds(seconds);
        return true;
    }

    /// <summary>Formats as the spec writes durations (e.g. 1h30m).</summary>
    public static string Format(TimeSpan duration)
    {
        var total = (long)duration.TotalSeconds;
        if (total == 0) return "0s";
        var text = "";
        if (total >= 3600) text += $"{total / 3600}h";
        if (total % 3600 >= 60) text += $"{total % 3600 / 60}m";
        if (total % 60 > 0) text += $"{total % 60}s";
        return text;
    }

    [GeneratedRegex(Patterns.Duration)]
    private static partial Regex DurationPattern();

    [GeneratedRegex("([0-9]+)(h|m|s)")]
    private static partial Regex PartPattern();
}
