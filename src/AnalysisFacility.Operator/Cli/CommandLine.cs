namespace AnalysisFacility.Operator.Cli;

/// <summary>A small `--name value` / `--flag` parser; every option may also come from an environment variable.</summary>
public sealed class CommandLine
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    // Every value in command-line order, for options given more than once (-f a -f b); Get returns the last one.
    private readonly List<(string Name, string Value)> _ordered = [];
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public CommandLine(IReadOnlyList<string> args)
    {
        Command = args.Count > 0 && !args[0].StartsWith('-') ? args[0] : "help";
        var rest = args.Skip(Command == "help" && (args.Count == 0 || args[0].StartsWith('-')) ? 0 : 1).ToList();
        for (var i = 0; i < rest.Count; i++)
        {
            var arg = rest[i];
            if (!arg.StartsWith('-'))
            {
                Positional.Add(arg);
                continue;
            }
            var name = arg.TrimStart('-');
            if (name.Contains('='))
            {
                Set(name[..name.IndexOf('=')], name[(name.IndexOf('=') + 1)..]);
            }
            else if (i + 1 < rest.Count && (!rest[i + 1].StartsWith('-') || rest[i + 1] == "-"))
            {
                Set(name, rest[++i]); // "-" is a value (stdin), as kubectl's -f -
            }
            else
            {
                _flags.Add(name);
            }
        }
    }

    private void Set(string name, string value)
    {
        _values[name] = value;
        _ordered.Add((name, value));
    }

    public string Command { get; }

    /// <summary>Every value given for any of <paramref name="names"/> (e.g. -f and --filename), in command-line order.</summary>
    public IReadOnlyList<string> GetAll(params string[] names) =>
        [.. _ordered.Where(o => names.Contains(o.Name, StringComparer.Ordinal)).Select(o => o.Value)];
    public List<string> Positional { get; } = [];

    /// <summary>The option's value, else the environment variable, else the default.</summary>
    public string? Get(string name, string? environmentVariable = null, string? defaultValue = null) =>
        _values.TryGetValue(name, out var value) ? value
        : environmentVariable is not null && Environment.GetEnvironmentVariable(environmentVariable) is { Length: > 0 } env ? env
        : defaultValue;

    public int GetInt(string name, string? environmentVariable, int defaultValue) =>
        Get(name, environmentVariable) is { } text
            ? int.TryParse(text, out var value) ? value : throw new ArgumentException($"--{name} must be a number, got '{text}'")
            : defaultValue;

    public bool Flag(string name, string? environmentVariable = null) =>
        _flags.Contains(name)
        || (_values.TryGetValue(name, out var v) && v is "true" or "1")
        || (environmentVariable is not null && Environment.GetEnvironmentVariable(environmentVariable) is "true" or "1");

    public IReadOnlyList<string> GetList(string name, string? environmentVariable) =>
        (Get(name, environmentVariable) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
