using System.Collections.Concurrent;
using AnalysisFacility.Operator.IntegrationTests.Support;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace AnalysisFacility.Operator.IntegrationTests.Runtime;

/// <summary>What the operator's own listeners (probes, metrics, issuer) write to the log per request.</summary>
[Collection(ControlPlaneCollection.Name)]
public sealed class HttpListenerLogTests(ControlPlaneFixture fixture)
{
    private sealed class Capture : ILogEventSink
    {
        public ConcurrentQueue<LogEvent> Events { get; } = new();
        public void Emit(LogEvent logEvent) => Events.Enqueue(logEvent);
    }

    private static bool IsFramework(LogEvent e) =>
        e.Properties.TryGetValue("SourceContext", out var source) && source.ToString().Trim('"').StartsWith("Microsoft", StringComparison.Ordinal);

    [Fact]
    public async Task Probes_metrics_and_issuer_requests_do_not_flood_the_log()
    {
        var ns = await fixture.CreateNamespaceAsync("http-log");
        var capture = new Capture();
        // The operator's default level (info), as `run` logs: no framework line per request, no issuer line at Information.
        var log = new LoggerConfiguration().MinimumLevel.Debug().WriteTo.Sink(capture).CreateLogger();
        await using (var harness = await OperatorHarness.StartAsync(fixture, [ns], log: new LoggerConfiguration().MinimumLevel.Information().WriteTo.Logger(log).CreateLogger()))
        {
            var before = capture.Events.Count;
            await RequestAllAsync(harness, times: 10);
            await Task.Delay(200);
            var lines = capture.Events.Skip(before).ToList();
            lines.Where(IsFramework).Should().BeEmpty("ASP.NET Core's request logs are at Warning by default");
            lines.Where(e => e.MessageTemplate.Text.StartsWith("Issuer ", StringComparison.Ordinal)).Should().BeEmpty("issuer lines are Debug");
        }

        // With debug logs: exactly one line per issuer request, still none from the framework per request.
        capture.Events.Clear();
        var debug = new LoggerConfiguration().MinimumLevel.Debug().WriteTo.Logger(log).CreateLogger();
        await using (var harness = await OperatorHarness.StartAsync(fixture, [ns], log: debug))
        {
            var before = capture.Events.Count;
            await RequestAllAsync(harness, times: 10);
            await Task.Delay(200);
            var lines = capture.Events.Skip(before).ToList();
            lines.Where(IsFramework).Should().BeEmpty();
            var issuer = lines.Where(e => e.MessageTemplate.Text.StartsWith("Issuer ", StringComparison.Ordinal)).ToList();
            issuer.Should().HaveCount(10);
            issuer.Should().OnlyContain(e => e.Level == LogEventLevel.Debug);
        }

        // Configurable: --http-log-level information brings the framework's request logs back.
        capture.Events.Clear();
        await using (var harness = await OperatorHarness.StartAsync(fixture, [ns], o => o with { HttpLogLevel = LogEventLevel.Information }, log: debug))
        {
            var before = capture.Events.Count;
            await RequestAllAsync(harness, times: 1);
            await Task.Delay(200);
            capture.Events.Skip(before).Where(IsFramework).Should().NotBeEmpty();
        }
    }

    private static async Task RequestAllAsync(OperatorHarness harness, int times)
    {
        using var http = new HttpClient { BaseAddress = harness.Host.HttpEndpoint };
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator };
        using var https = new HttpClient(handler) { BaseAddress = harness.Host.IssuerEndpoint };
        for (var i = 0; i < times; i++)
        {
            (await http.GetAsync("/readyz")).EnsureSuccessStatusCode();
            (await http.GetAsync("/healthz")).EnsureSuccessStatusCode();
            (await http.GetAsync("/metrics")).EnsureSuccessStatusCode();
            await https.GetAsync("/no-such-issuer/.well-known/openid-configuration"); // 404 is an answer like any other
        }
    }
}
