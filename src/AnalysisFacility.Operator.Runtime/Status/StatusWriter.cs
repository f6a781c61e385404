using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Runtime.Apply;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Client;
using k8s;
using k8s.Models;

namespace AnalysisFacility.Operator.Runtime.Status;

/// <summary>Writes status through the /status subresource, and only when it differs from what the cache holds.</summary>
public sealed class StatusWriter(KubernetesApi api, CacheRegistry caches)
{
    /// <summary>Returns true when a write was made.</summary>
    public async Task<bool> UpdateAsync(IKubernetesObject<V1ObjectMeta> resource, object status, CancellationToken cancellationToken)
    {
        var type = api.Types.Of(resource);
        var current = api.ToNode(resource)["status"] as JsonObject ?? new JsonObject();
        var desired = api.ToNode(status);
        if (JsonNode.DeepEquals(Normalise(current), Normalise(desired))) return false;

        // A merge patch that also clears fields that disappeared (merge patch replaces lists wholesale, which is what we want).
        var patchStatus = desired.DeepClone().AsObject();
        foreach (var (key, _) in current)
        {
            if (!patchStatus.ContainsKey(key)) patchStatus[key] = null;
        }
        var patch = new JsonObject { ["status"] = patchStatus };
        var live = await api.PatchUtf8Async(type, resource.Metadata.NamespaceProperty, resource.Metadata.Name, patch.ToJsonString(),
            KubernetesApi.MergePatch, cancellationToken, subresource: "status");
        caches.Find(type)?.Upsert(live, resource.Metadata.ResourceVersion);
        return true;
    }

    // Empty lists/objects and absent fields mean the same to a reader.
    private static JsonNode? Normalise(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.Where(p => !IsEmpty(p.Value)).Select(p => KeyValuePair.Create(p.Key, Normalise(p.Value)))),
        JsonArray a => new JsonArray(a.Select(Normalise).ToArray()),
        null => null,
        _ => node.DeepClone(),
    };

    private static bool IsEmpty(JsonNode? node) => node is null || node is JsonArray { Count: 0 } || node is JsonObject { Count: 0 };
}
