using Serilog;
using ILogger = Serilog.ILogger;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace AnalysisFacility.Operator.Cli;

public static class Logging
{
    /// <summary>JSON logs on stdout (one event per line), as log collectors expect from a pod.</summary>
    public static ILogger Create(string level, bool json = true)
    {
        var minimum = Enum.TryParse<LogEventLevel>(level, ignoreCase: true, out var parsed) ? parsed
            : level.ToLowerInvariant() switch { "info" => LogEventLevel.Information, "warn" => LogEventLevel.Warning, _ => LogEventLevel.Information };
        var configuration = new LoggerConfiguration().MinimumLevel.Is(minimum).Enrich.FromLogContext();
        configuration = json
            ? configuration.WriteTo.Console(new RenderedCompactJsonFormatter())
            : configuration.WriteTo.Console(outputTemplate: "{Timestamp:HH:mm:ss} {Level:u3} {Message:lj}{NewLine}{Exception}");
        return configuration.CreateLogger();
    }
}
