using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Runtime.Client;
using k8s;
using k8s.Models;
using Serilog;

namespace AnalysisFacility.Operator.Runtime.Events;

/// <summary>
/// Records Kubernetes Events (core/v1) on objects. The same reason and message for the same object generation is
/// recorded once, so a resource that stays invalid does not produce a stream of writes. An Event that already exists
/// under the same name (another replica, or this process before a restart, recorded it in the same second) is counted
/// instead, as client-go's recorder does for a repeated event: count + 1 and a new lastTimestamp.
/// Callers must never put a secret into a message.
/// </summary>
public sealed class EventRecorder(KubernetesApi api, ILogger log, string component = "analysisfacility-operator", TimeProvider? clock = null)
{
    /// <summary>Attempts to count an existing Event when its resourceVersion moved between our read and our update.</summary>
    private const int CountAttempts = 3;

    public const string Normal = "Normal";
    public const string Warning = "Warning";
    private const int MaxRemembered = 20_000;

    private readonly ConcurrentDictionary<string, DateTime> _recorded = new();

    public string Component => component;

    public async Task RecordAsync(IKubernetesObject<V1ObjectMeta> regarding, string type, string reason, string message, CancellationToken cancellationToken)
    {
        var fingerprint = $"{regarding.Metadata.Uid}|{regarding.Metadata.Generation}|{type}|{reason}|{message}";
        if (!_recorded.TryAdd(fingerprint, DateTime.UtcNow)) return;
        if (_recorded.Count > MaxRemembered) Trim();

        var now = (clock ?? TimeProvider.System).GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        var suffix = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(fingerprint + now)))[..16];
        var ns = regarding.Metadata.NamespaceProperty ?? "default";
        var eventObject = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Event",
            ["metadata"] = new JsonObject { ["name"] = $"{regarding.Metadata.Name}.{suffix}", ["namespace"] = ns },
            ["involvedObject"] = new JsonObject
            {
                ["apiVersion"] = regarding.ApiVersion, ["kind"] = regarding.Kind, ["name"] = regarding.Metadata.Name,
                ["namespace"] = regarding.Metadata.NamespaceProperty, ["uid"] = regarding.Metadata.Uid,
                ["resourceVersion"] = regarding.Metadata.ResourceVersion,
            },
            ["reason"] = reason,
            ["message"] = message.Length > 1024 ? message[..1021] + "..." : message,
            ["type"] = type,
            ["source"] = new JsonObject { ["component"] = component },
            ["reportingComponent"] = component,
            ["firstTimestamp"] = now,
            ["lastTimestamp"] = now,
            ["count"] = 1,
        };
        var name = eventObject["metadata"]!["name"]!.GetValue<string>();
        try
        {
            try
            {
                await api.CreateAsync(api.Types.For<Corev1Event>(), eventObject, cancellationToken);
            }
            catch (KubernetesApiException e) when (e.IsConflict && e.Reason == "AlreadyExists")
            {
                await CountExistingAsync(ns, name, now, cancellationToken);
            }
        }
        catch (KubernetesApiException e)
        {
            // Events are best effort: failing to record one must not fail a reconcile.
            _recorded.TryRemove(fingerprint, out _);
            log.Warning("Could not record event {Reason} on {Kind} {Name}: {Error}", reason, regarding.Kind, regarding.Metadata.Name, e.Message);
        }
    }

    /// <summary>
    /// The Event exists: one more occurrence. The update carries the resourceVersion that was read, so two recorders
    /// counting at once never overwrite each other's count (the loser reads again).
    /// </summary>
    private async Task CountExistingAsync(string ns, string name, string now, CancellationToken cancellationToken)
    {
        var type = api.Types.For<Corev1Event>();
        for (var attempt = 1; ; attempt++)
        {
            var existing = await api.GetAsync(type, ns, name, cancellationToken)
                ?? throw new KubernetesApiException(System.Net.HttpStatusCode.NotFound, "NotFound", $"event {name} vanished while being counted");
            var count = existing["count"]?.GetValue<int>() ?? 1;
            var patch = new JsonObject
            {
                ["metadata"] = new JsonObject { ["resourceVersion"] = existing["metadata"]?["resourceVersion"]?.GetValue<string>() },
                ["count"] = count + 1,
                ["lastTimestamp"] = now,
            };
            try
            {
                await api.PatchAsync(type, ns, name, patch.ToJsonString(), KubernetesApi.MergePatch, cancellationToken);
                return;
            }
            catch (KubernetesApiException e) when (e.IsConflict && attempt < CountAttempts)
            {
                // Counted by someone else in between: read the new count.
            }
        }
    }

    private void Trim()
    {
        foreach (var entry in _recorded.OrderBy(e => e.Value).Take(MaxRemembered / 2).ToList()) _recorded.TryRemove(entry.Key, out _);
    }
}
