using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;
using AnalysisFacility.Operator.Runtime.Client;

namespace AnalysisFacility.Operator.Builders.Facility;

/// <summary>Writes Python literals for generated configuration files (values never become code).</summary>
internal static class Python
{
    public static string Literal(object? value) => value switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        string s => Str(s),
        int or long => Convert.ToString(value, CultureInfo.InvariantCulture)!,
        IDictionary dictionary => "{" + string.Join(", ", dictionary.Keys.Cast<object>().Select(k => $"{Literal(k)}: {Literal(dictionary[k])}")) + "}",
        IEnumerable sequence => "[" + string.Join(", ", sequence.Cast<object?>().Select(Literal)) + "]",
        _ => throw new ArgumentException($"no Python literal for {value.GetType().Name}"),
    };

    /// <summary>A double-quoted Python string; JSON string escapes are valid Python escapes.</summary>
    public static string Str(string value) => JsonSerializer.Serialize(value, RuntimeJsonContext.Default.String);

    public static string Set(IEnumerable<string> values) => "set(" + Literal(values.ToList()) + ")";

    public static void Assign(StringBuilder builder, string target, object? value) =>
        builder.Append("c.").Append(target).Append(" = ").AppendLine(Literal(value));
}

/// <summary>Durations of the API (Go style: 1h30m, 45s) in seconds.</summary>
public static class Durations
{
    public static long ToSeconds(string duration)
    {
        long total = 0, number = 0;
        var sawDigit = false;
        foreach (var c in duration)
        {
            if (char.IsAsciiDigit(c))
            {
                number = checked(number * 10 + (c - '0'));
                sawDigit = true;
                continue;
            }
            if (!sawDigit) throw new FormatException($"'{duration}' is not a duration such as 1h, 90m or 1h30m");
            total += c switch
            {
                'h' => number * 3600,
                'm' => number * 60,
                's' => number,
                _ => throw new FormatException($"'{duration}' has unit '{c}'; allowed units are h, m and s"),
            };
            number = 0;
            sawDigit = false;
        }
        if (sawDigit || duration.Length == 0) throw new FormatException($"'{duration}' is not a duration such as 1h, 90m or 1h30m");
        return total;
    }
}
