using Serilog;
using ILogger = Serilog.ILogger;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace AnalysisFacility.Operator.Cli;

public static class Logging
{
    /// <summary>JSON logs on stdout (one event per line), as log collectors expect from a pod.</summary>
    public static ILogger Create(LogEventLevel level, bool json = true)
    {
        var configuration = new LoggerConfiguration().MinimumLevel.Is(level).Enrich.FromLogContext();
        configuration = json
            ? configuration.WriteTo.Console(new RenderedCompactJsonFormatter())
            : configuration.WriteTo.Console(outputTemplate: "{Timestamp:HH:mm:ss} {Level:u3} {Message:lj}{NewLine}{Exception}");
        return configuration.CreateLogger();
    }

    /// <summary>A level as the flags spell it (debug, info, warn/warning, error; Serilog's names too).</summary>
    public static LogEventLevel Level(string level) =>
        Enum.TryParse<LogEventLevel>(level, ignoreCase: true, out var parsed) ? parsed
        : level.ToLowerInvariant() switch
        {
            "info" => LogEventLevel.Information,
            "warn" => LogEventLevel.Warning,
            _ => throw new ArgumentException("a log level is debug, info, warning or error"),
        };
}
