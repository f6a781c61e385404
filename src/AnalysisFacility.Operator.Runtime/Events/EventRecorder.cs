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
/// recorded once, so a resource that stays invalid does not produce a stream of writes.
/// Callers must never put a secret into a message.
/// </summary>
public sealed class EventRecorder(KubernetesApi api, ILogger log, string component = "analysisfacility-operator")
{
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

        var now = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ");
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
        try
        {
            await api.CreateAsync(api.Types.For<Corev1Event>(), eventObject, cancellationToken);
        }
        catch (KubernetesApiException e)
        {
            // Events are best effort: failing to record one must not fail a reconcile.
            _recorded.TryRemove(fingerprint, out _);
            log.Warning("Could not record event {Reason} on {Kind} {Name}: {Error}", reason, regarding.Kind, regarding.Metadata.Name, e.Message);
        }
    }

    private void Trim()
    {
        foreach (var entry in _recorded.OrderBy(e => e.Value).Take(MaxRemembered / 2).ToList()) _recorded.TryRemove(entry.Key, out _);
    }
}
