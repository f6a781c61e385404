namespace AnalysisFacility.Operator.Builders.Facility;

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
