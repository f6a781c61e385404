using System.Text.Json.Nodes;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Runtime.Events;
using k8s.Models;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace AnalysisFacility.Operator.IntegrationTests.Runtime;

/// <summary>Events as two operator processes (or one before and after a restart) record them, against the real API server.</summary>
[Collection(ControlPlaneCollection.Name)]
public sealed class EventRecorderTests(ControlPlaneFixture fixture)
{
    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private sealed class Warnings : ILogEventSink
    {
        public List<string> Lines { get; } = [];
        public void Emit(LogEvent logEvent)
        {
            lock (Lines) Lines.Add(logEvent.RenderMessage());
        }
    }

    [Fact]
    public async Task The_same_event_recorded_by_two_recorders_is_counted_on_one_Event_not_dropped()
    {
        var ns = await fixture.CreateNamespaceAsync("rt-events");
        var configMaps = fixture.Api.Types.For<V1ConfigMap>();
        var live = await fixture.Api.CreateAsync(configMaps, new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "ConfigMap", ["metadata"] = new JsonObject { ["name"] = "regarding", ["namespace"] = ns },
        }, default);
        var regarding = k8s.KubernetesJson.Deserialize<V1ConfigMap>(live.ToJsonString());
        regarding.ApiVersion = "v1";
        regarding.Kind = "ConfigMap";

        // Two processes, each with its own API client and memory, in the same second: the same Event name.
        var warnings = new Warnings();
        var log = new LoggerConfiguration().MinimumLevel.Warning().WriteTo.Sink(warnings).CreateLogger();
        var clock = new FixedClock(new DateTimeOffset(2026, 12, 3, 10, 0, 0, TimeSpan.Zero));
        using var firstApi = new KubernetesApi(fixture.Plane.AdminConfiguration(), ApiJson.Options);
        using var secondApi = new KubernetesApi(fixture.Plane.AdminConfiguration(), ApiJson.Options);
        var first = new EventRecorder(firstApi, log, clock: clock);
        var second = new EventRecorder(secondApi, log, clock: clock);

        await first.RecordAsync(regarding, EventRecorder.Warning, "InvalidSpec", "spec.x is wrong", default);
        var events = await EventsAsync(ns);
        var name = events.Should().ContainSingle().Which["metadata"]!["name"]!.GetValue<string>();
        // As if the first occurrence were a minute older, so the new lastTimestamp is visible.
        await fixture.Api.PatchAsync(fixture.Api.Types.For<Corev1Event>(), ns, name, """{"lastTimestamp":"2026-12-03T09:59:00Z"}""", KubernetesApi.MergePatch, default);

        await second.RecordAsync(regarding, EventRecorder.Warning, "InvalidSpec", "spec.x is wrong", default);
        await Task.WhenAll(
            new EventRecorder(firstApi, log, clock: clock).RecordAsync(regarding, EventRecorder.Warning, "InvalidSpec", "spec.x is wrong", default),
            new EventRecorder(secondApi, log, clock: clock).RecordAsync(regarding, EventRecorder.Warning, "InvalidSpec", "spec.x is wrong", default));

        events = await EventsAsync(ns);
        var counted = events.Should().ContainSingle("a name collision updates the existing Event").Which;
        counted["count"]!.GetValue<int>().Should().Be(4, "every recorder's occurrence is counted, also two at once");
        counted["lastTimestamp"]!.GetValue<string>().Should().Be("2026-12-03T10:00:00Z");
        counted["firstTimestamp"]!.GetValue<string>().Should().Be("2026-12-03T10:00:00Z");
        counted["reason"]!.GetValue<string>().Should().Be("InvalidSpec");
        warnings.Lines.Should().NotContain(l => l.Contains("Could not record event"));
    }

    private async Task<IReadOnlyList<JsonObject>> EventsAsync(string ns) =>
        [.. (await fixture.Api.ListAsync(fixture.Api.Types.For<Corev1Event>(), ns, null, 100, null, default)).Items
            .Where(e => e["involvedObject"]?["name"]?.GetValue<string>() == "regarding")];
}
