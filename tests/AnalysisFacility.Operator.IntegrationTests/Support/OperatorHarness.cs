using System.Net;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.Operator.Hosting;
using Serilog;
using Serilog.Events;

namespace AnalysisFacility.Operator.IntegrationTests.Support;

/// <summary>
/// Runs the real operator (controllers, issuer, probes, metrics) in-process against the fixture's control plane,
/// on loopback with free ports; disposing stops it gracefully.
/// </summary>
public sealed class OperatorHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _run;

    private OperatorHarness(OperatorHost host) => Host = host;

    public OperatorHost Host { get; }

    /// <param name="namespaces">The namespaces the operator watches: the test's own, so that objects left by other tests
    /// sharing the control plane are neither reconciled nor counted.</param>
    public static async Task<OperatorHarness> StartAsync(ControlPlaneFixture fixture, IReadOnlyList<string> namespaces,
        Func<OperatorHostOptions, OperatorHostOptions>? configure = null, string? operatorNamespace = null, ILogger? log = null)
    {
        var options = new OperatorHostOptions
        {
            Settings = new OperatorSettings { OperatorNamespace = operatorNamespace ?? "default", Workers = 4, Namespaces = namespaces },
            ListenAddress = IPAddress.Loopback,
            HttpPort = 0,
            IssuerPort = 0,
        };
        options = configure?.Invoke(options) ?? options;
        log ??= new LoggerConfiguration().MinimumLevel.Is(LogEventLevel.Warning).WriteTo.Console().CreateLogger();
        var harness = new OperatorHarness(new OperatorHost(fixture.Plane.AdminConfiguration(), options, log));
        harness._run = Task.Run(() => harness.Host.RunAsync(harness._stop.Token));
        await Eventually.TrueAsync(() => Task.FromResult(harness.Host.IssuerEndpoint is not null && harness.Host.Manager.IsReady || harness._run.IsFaulted),
            TimeSpan.FromSeconds(60), "operator started and caches synced");
        if (harness._run.IsFaulted) await harness._run;
        return harness;
    }

    /// <summary>
    /// Waits until the operator has made no write for <paramref name="quiet"/> (everything converged, including the
    /// controllers reacting to each other), so a following steady-state check measures a steady state.
    /// </summary>
    public Task WaitForQuietAsync(TimeSpan quiet, TimeSpan timeout) => WaitForQuietAsync(() => Host.Api.Calls.Writes, quiet, timeout);

    /// <summary>Waits until the <paramref name="writes"/> counter has stayed put for <paramref name="quiet"/>.</summary>
    public static async Task WaitForQuietAsync(Func<long> writes, TimeSpan quiet, TimeSpan timeout, Func<string>? detail = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = writes();
        var since = DateTime.UtcNow;
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            var now = writes();
            if (now != last)
            {
                last = now;
                since = DateTime.UtcNow;
            }
            else if (DateTime.UtcNow - since >= quiet)
            {
                return;
            }
        }
        throw new TimeoutException($"the operator kept writing for {timeout} (never converged) {detail?.Invoke()}");
    }

    /// <summary>Stops like SIGTERM would: controllers drain, the lease is released.</summary>
    public async Task StopAsync()
    {
        _stop.Cancel();
        if (_run is not null) await _run.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested) await StopAsync();
        await Host.DisposeAsync();
        _stop.Dispose();
    }
}

/// <summary>Polling helper for eventual consistency.</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition()) return;
                last = null;
            }
            catch (Exception e)
            {
                last = e;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{what}: not true within {timeout}" + (last is null ? "" : $" (last error: {last.Message})"));
    }
}
