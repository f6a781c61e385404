using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Runtime.Metrics;
using k8s;
using k8s.Models;
using Serilog;

namespace AnalysisFacility.Operator.Runtime.Apply;

public enum ApplyOutcome { Unchanged, Applied }

/// <summary>
/// Applies desired objects with server-side apply under one field manager, and skips the write when the cached
/// object already matches: it carries the hash of what we last applied and every desired field has that value.
/// The hash catches fields we stopped setting; the field comparison catches edits made by hand.
/// </summary>
public sealed class Applier(KubernetesApi api, CacheRegistry caches, OperatorMetrics metrics, ILogger log, string fieldManager = Applier.DefaultFieldManager)
{
    public const string DefaultFieldManager = "analysisfacility-operator";
    public const string HashAnnotation = "analysisfacility.io/applied-hash";

    public string FieldManager => fieldManager;

    /// <summary>Applies <paramref name="desired"/>, owned by <paramref name="owner"/> when given (controller reference, so the
    /// owner is reconciled when the object changes and garbage collection removes it with the owner).</summary>
    public async Task<ApplyOutcome> ApplyAsync(IKubernetesObject<V1ObjectMeta> desired, IKubernetesObject<V1ObjectMeta>? owner,
        CancellationToken cancellationToken)
    {
        if (owner is not null) SetControllerReference(desired, owner);
        var type = api.Types.ForKind(desired.ApiVersion, desired.Kind);
        var json = ToJson(desired);
        var hash = Hash(json);
        var annotations = json["metadata"]!.AsObject()["annotations"] as JsonObject ?? new JsonObject();
        annotations[HashAnnotation] = hash;
        json["metadata"]!.AsObject()["annotations"] = annotations;

        var cache = caches.Find(type);
        var cached = cache?.Get(ObjectKey.Of(desired));
        // The hash is read off the typed object first: only an object that carries it is worth comparing field by field.
        if (cached is not null && cached.Metadata.Annotations?.TryGetValue(HashAnnotation, out var cachedHash) == true && cachedHash == hash
            && Matches(json, ToJson(cached)))
        {
            metrics.AppliesSkipped.WithLabels(desired.Kind).Inc();
            return ApplyOutcome.Unchanged;
        }

        var live = await api.ApplyAsync(type, json, fieldManager, force: true, cancellationToken);
        log.Debug("Applied {Kind} {Key}", desired.Kind, ObjectKey.Of(desired).ToString());
        cache?.Upsert(live);
        return ApplyOutcome.Applied;
    }

    /// <summary>Deletes an object if it exists (per the cache when there is one, so a steady state makes no calls).</summary>
    public async Task<bool> DeleteAsync(ResourceType type, string? @namespace, string name, CancellationToken cancellationToken)
    {
        var cache = caches.Find(type);
        if (cache is not null && cache.HasSynced && cache.Get(new ObjectKey(@namespace, name)) is null) return false;
        var deleted = await api.DeleteAsync(type, @namespace, name, cancellationToken);
        if (deleted) log.Information("Deleted {Resource} {Namespace}/{Name}", type.ToString(), @namespace, name);
        return deleted;
    }

    public static void SetControllerReference(IKubernetesObject<V1ObjectMeta> obj, IKubernetesObject<V1ObjectMeta> owner)
    {
        var reference = new V1OwnerReference
        {
            ApiVersion = owner.ApiVersion, Kind = owner.Kind, Name = owner.Metadata.Name, Uid = owner.Metadata.Uid,
            Controller = true, BlockOwnerDeletion = true,
        };
        obj.Metadata.OwnerReferences = [.. (obj.Metadata.OwnerReferences ?? []).Where(r => r.Uid != owner.Metadata.Uid), reference];
    }

    /// <summary>True when <paramref name="live"/> carries our hash and every field of <paramref name="desired"/> has the same value.</summary>
    public static bool Matches(JsonObject desired, JsonObject live)
    {
        var desiredHash = desired["metadata"]?["annotations"]?[HashAnnotation]?.GetValue<string>();
        var liveHash = live["metadata"]?["annotations"]?[HashAnnotation]?.GetValue<string>();
        return desiredHash is not null && desiredHash == liveHash && IsSubset(desired, live);
    }

    /// <summary>Every value set in <paramref name="desired"/> equals the one in <paramref name="live"/> (empty values match absent ones).</summary>
    public static bool IsSubset(JsonNode? desired, JsonNode? live)
    {
        switch (desired)
        {
            case null:
                return true;
            case JsonObject desiredObject:
                if (live is not JsonObject liveObject) return desiredObject.Count == 0 || desiredObject.All(p => IsEmpty(p.Value));
                foreach (var (key, value) in desiredObject)
                {
                    if (!liveObject.TryGetPropertyValue(key, out var liveValue))
                    {
                        if (!IsEmpty(value)) return false;
                        continue;
                    }
                    if (!IsSubset(value, liveValue)) return false;
                }
                return true;
            case JsonArray desiredArray:
                if (live is not JsonArray liveArray) return desiredArray.Count == 0 && live is null;
                if (desiredArray.Count != liveArray.Count) return false;
                for (var i = 0; i < desiredArray.Count; i++)
                {
                    if (!IsSubset(desiredArray[i], liveArray[i])) return false;
                }
                return true;
            default:
                if (live is not JsonValue liveScalar) return false;
                // Equal strings are equal without re-encoding them (a config file or map can be 100 KB of JSON text).
                if (desired.GetValueKind() == JsonValueKind.String && liveScalar.GetValueKind() == JsonValueKind.String
                    && desired.GetValue<string>() == liveScalar.GetValue<string>()) return true;
                // Compare scalars by their text so that 8080 and "8080" (int-or-string) or 1 and 1.0 are equal.
                return ScalarText(desired) == ScalarText(live);
        }
    }

    public static string Hash(JsonObject json)
    {
        var hashed = json;
        if (json["metadata"]?["annotations"] is JsonObject annotations && annotations.ContainsKey(HashAnnotation))
        {
            hashed = json.DeepClone().AsObject();
            hashed["metadata"]!["annotations"]!.AsObject().Remove(HashAnnotation);
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(hashed.ToJsonString())))[..16];
    }

    public static JsonObject ToJson(object obj) => ClientJson.ToNode(obj);

    // Kubernetes omits zero values (Go omitempty): initialDelaySeconds: 0, false flags and "" come back absent.
    private static bool IsEmpty(JsonNode? node) => node switch
    {
        null => true,
        JsonObject o => o.All(p => IsEmpty(p.Value)),
        JsonArray a => a.Count == 0,
        JsonValue v => v.ToJsonString() is "0" or "false" or "\"\"",
        _ => false,
    };

    private static string ScalarText(JsonNode node)
    {
        var text = node.ToJsonString().Trim('"');
        return double.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var number)
            ? number.ToString("R", System.Globalization.CultureInfo.InvariantCulture)
            : text;
    }
}
