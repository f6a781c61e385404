using System.CommandLine;
using System.CommandLine.Parsing;

namespace AnalysisFacility.Operator.Cli;

/// <summary>
/// Options that may also come from environment variables (the chart and the image set AF_*): the command line wins,
/// then the first variable that is set, then the default. A bad value of either is a parse error naming its source.
/// </summary>
public static class CliOption
{
    public static Option<T> Create<T>(string name, string description, T defaultValue, Func<string, T> parse, string[]? aliases = null,
        params string[] environmentVariables)
    {
        T Parse(ArgumentResult result)
        {
            var (text, source) = result.Tokens.Count > 0 ? (result.Tokens[^1].Value, name) : FromEnvironment(environmentVariables);
            if (text is null) return defaultValue;
            try
            {
                return parse(text);
            }
            catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
            {
                result.AddError($"{source}: {e.Message} (got '{text}')");
                return defaultValue;
            }
        }
        // The same delegate parses a given value and makes the default, so the environment is read only when the
        // option is absent.
        return new Option<T>(name, aliases ?? [])
        {
            Description = Describe(description, environmentVariables),
            CustomParser = Parse,
            DefaultValueFactory = Parse,
        };
    }

    /// <summary>A text option, null when neither given nor set in the environment.</summary>
    public static Option<string?> OptionalText(string name, string description, params string[] environmentVariables) =>
        Create<string?>(name, description, null, text => text, null, environmentVariables);

    public static Option<string> Text(string name, string description, string defaultValue, params string[] environmentVariables) =>
        Create(name, description, defaultValue, text => text, null, environmentVariables);

    public static Option<int> Number(string name, string description, int defaultValue, params string[] environmentVariables) =>
        Create(name, description, defaultValue,
            text => int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value)
                ? value : throw new FormatException("must be a whole number"),
            null, environmentVariables);

    /// <summary>A switch: given alone (or as --name true) it is on; else a variable set to true or 1 turns it on.</summary>
    public static Option<bool> Flag(string name, string description, string? environmentVariable = null) => new(name)
    {
        Description = environmentVariable is null ? description : Describe(description, [environmentVariable]),
        DefaultValueFactory = _ => environmentVariable is not null && Environment.GetEnvironmentVariable(environmentVariable) is "true" or "1",
    };

    /// <summary>A comma-separated list (a,b), as the chart's AF_NAMESPACES holds it.</summary>
    public static Option<IReadOnlyList<string>> List(string name, string description, params string[] environmentVariables) =>
        Create<IReadOnlyList<string>>(name, description, [],
            text => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), null, environmentVariables);

    public static Option<Serilog.Events.LogEventLevel> LogLevel(string name, string description, Serilog.Events.LogEventLevel defaultLevel,
        string environmentVariable)
    {
        var option = Create(name, description, defaultLevel, Logging.Level, null, environmentVariable);
        option.HelpName = "debug|info|warning|error";
        return option;
    }

    private static (string? Text, string? Source) FromEnvironment(string[] variables)
    {
        foreach (var variable in variables)
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value) return (value, variable);
        }
        return (null, null);
    }

    private static string Describe(string description, string[] environmentVariables) =>
        environmentVariables.Length == 0 ? description : $"{description} ({string.Join(", ", environmentVariables)})";
}
