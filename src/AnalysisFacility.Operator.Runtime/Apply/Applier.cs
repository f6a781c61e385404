using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
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
/// <remarks>
/// Objects go to the API server as UTF-8 JSON written straight from their typed form, and its answer goes straight into
/// the cache: no JSON tree on the way. A cached version that matched once (or that the server returned for our own apply)
/// is remembered with its hash, so later reconciles skip the field comparison until the cache holds a new version.
/// </remarks>
public sealed class Applier(KubernetesApi api, CacheRegistry caches, OperatorMetrics metrics, ILogger log, string fieldManager = Applier.DefaultFieldManager)
{
    /// <summary>
    /// When set, an object that exists under the desired name but is not ours (<see cref="ObjectClaim.Decide"/>) is never
    /// written: <see cref="ApplyAsync"/> throws <see cref="NameInUseException"/>. A name missing from the cache is looked
    /// up once (the caches hold only what the operator labels), so a steady state still makes no call.
    /// </summary>
    public ClaimRules? Claims { get; init; }

    public const string DefaultFieldManager = "analysisfacility-operator";
    public const string HashAnnotation = "analysisfacility.io/applied-hash";

    // Cached versions known to match the hash they carry. Keyed by the cached instance: the cache replaces the instance when
    // the object changes (a hand edit is a new resourceVersion), which drops the entry with it.
    private readonly ConditionalWeakTable<IKubernetesObject<V1ObjectMeta>, string> _verified = new();

    public string FieldManager => fieldManager;

    /// <summary>Applies <paramref name="desired"/>, owned by <paramref name="owner"/> when given (controller reference, so the
    /// owner is reconciled when the object changes and garbage collection removes it with the owner).</summary>
    public async Task<ApplyOutcome> ApplyAsync(IKubernetesObject<V1ObjectMeta> desired, IKubernetesObject<V1ObjectMeta>? owner,
        CancellationToken cancellationToken)
    {
        if (owner is not null) SetControllerReference(desired, owner);
        var type = api.Types.Of(desired);
        var key = ObjectKey.Of(desired);
        var json = WithoutAppliedHash(desired, api.Json);
        var hash = HashOf(json);

        var cache = caches.Find(type);
        var cached = cache?.Get(key);
        if (cached is not null && IsCurrent(cache!, cached, json, hash))
        {
            metrics.AppliesSkipped.WithLabels(desired.Kind).Inc();
            return ApplyOutcome.Unchanged;
        }

        if (Claims is { } rules)
        {
            var liveMetadata = cached is not null
                ? api.ToNode(cached)["metadata"] as JsonObject
                : (await api.GetAsync(type, key.Namespace, key.Name, cancellationToken))?["metadata"] as JsonObject;
            var decision = ObjectClaim.Decide(liveMetadata, desired.Metadata.Labels as IReadOnlyDictionary<string, string>
                ?? desired.Metadata.Labels?.ToDictionary(), owner?.Metadata.Uid, rules);
            if (!decision.Allowed) throw new NameInUseException(desired.Kind, key.Namespace, key.Name, decision.Holder!);
        }

        var live = await api.ApplyUtf8Async(type, key.Namespace, key.Name, WithAppliedHash(desired, hash, api.Json), fieldManager, force: true, cancellationToken);
        log.Debug("Applied {Kind} {Key}", desired.Kind, key.ToString());
        // The answer to our forced apply is the server's version of what we just set (defaulted and normalised by it): it
        // is taken as matching, without a field comparison. A later edit by anyone is a new version, compared again.
        if (cache?.Upsert(live, cached?.Metadata.ResourceVersion) is { } stored && AppliedHashOf(stored) is { } storedHash && storedHash == hash)
        {
            _verified.AddOrUpdate(stored, storedHash);
        }
        return ApplyOutcome.Applied;
    }

    /// <summary>True when <paramref name="cached"/> carries <paramref name="hash"/> and every desired field has its value.</summary>
    private bool IsCurrent(IInformer cache, IKubernetesObject<V1ObjectMeta> cached, byte[] desiredJson, string hash)
    {
        // The hash is read off the typed object first: only an object that carries it is worth comparing field by field.
        if (AppliedHashOf(cached) is not { } cachedHash || cachedHash != hash) return false;
        if (_verified.TryGetValue(cached, out var verified) && verified == hash) return true;
        using var desiredDocument = JsonDocument.Parse(desiredJson);
        using var liveDocument = JsonDocument.Parse(ClientJson.ToUtf8(cached, api.Json));
        if (!IsSubset(desiredDocument.RootElement, liveDocument.RootElement, cache.Omit?.JsonName, cache.OmittedDigest(cached))) return false;
        _verified.AddOrUpdate(cached, cachedHash);
        return true;
    }

    private static string? AppliedHashOf(IKubernetesObject<V1ObjectMeta> obj) =>
        obj.Metadata.Annotations?.TryGetValue(HashAnnotation, out var hash) == true ? hash : null;

    /// <summary>The object as UTF-8 JSON (KubernetesClient's encoding) without its applied-hash annotation; the object is not changed.</summary>
    private static byte[] WithoutAppliedHash(IKubernetesObject<V1ObjectMeta> obj, JsonSerializerOptions json) =>
        obj.Metadata.Annotations?.ContainsKey(HashAnnotation) == true
            ? WithoutAppliedHash(ClientJson.ToNode(obj, json)) // rare (desired objects do not carry it): through the JSON tree
            : ClientJson.ToUtf8(obj, json);

    /// <summary>A JSON object as UTF-8 without its applied-hash annotation; the tree is not changed.</summary>
    private static byte[] WithoutAppliedHash(JsonObject json)
    {
        if (json["metadata"]?["annotations"] is JsonObject annotations && annotations.ContainsKey(HashAnnotation))
        {
            json = json.DeepClone().AsObject();
            json["metadata"]!["annotations"]!.AsObject().Remove(HashAnnotation);
        }
        return ClientJson.ToUtf8(json);
    }

    /// <summary>The desired object as UTF-8 JSON with <paramref name="hash"/> as its applied-hash annotation. The desired
    /// object is the caller's, handed over for this apply (as its owner reference is): its annotations are set for the time
    /// of the serialisation and then put back.</summary>
    private static byte[] WithAppliedHash(IKubernetesObject<V1ObjectMeta> desired, string hash, JsonSerializerOptions json)
    {
        var metadata = desired.Metadata;
        var original = metadata.Annotations;
        metadata.Annotations = new Dictionary<string, string>(original ?? new Dictionary<string, string>()) { [HashAnnotation] = hash };
        try
        {
            return ClientJson.ToUtf8(desired, json);
        }
        finally
        {
            metadata.Annotations = original;
        }
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
    public static bool IsSubset(JsonNode? desired, JsonNode? live) =>
        desired is null || IsSubset(ClientJson.ToElement(desired), live is null ? default : ClientJson.ToElement(live));

    /// <summary>
    /// <see cref="IsSubset(JsonElement, JsonElement)"/> of two whole objects, where the cache left the top-level field
    /// <paramref name="omitted"/> out of <paramref name="live"/> and kept its digest: the desired value is compared by digest.
    /// </summary>
    private static bool IsSubset(JsonElement desired, JsonElement live, string? omitted, string? omittedDigest)
    {
        if (omitted is null || desired.ValueKind != JsonValueKind.Object || live.ValueKind != JsonValueKind.Object) return IsSubset(desired, live);
        foreach (var property in desired.EnumerateObject())
        {
            if (property.NameEquals(omitted))
            {
                // No digest: the live object had no value (or the cache keeps it, then it is compared as any field).
                var matches = omittedDigest is null
                    ? live.TryGetProperty(property.Name, out var kept) ? IsSubset(property.Value, kept) : IsEmpty(property.Value)
                    : FieldDigest.Of(property.Value) == omittedDigest;
                if (!matches) return false;
                continue;
            }
            if (!(live.TryGetProperty(property.Name, out var liveValue) ? IsSubset(property.Value, liveValue) : IsEmpty(property.Value))) return false;
        }
        return true;
    }

    /// <summary>Every value set in <paramref name="desired"/> equals the one in <paramref name="live"/> (empty values match
    /// absent ones; an absent <paramref name="live"/> is <c>default</c>).</summary>
    public static bool IsSubset(JsonElement desired, JsonElement live)
    {
        switch (desired.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return true;
            case JsonValueKind.Object:
                if (live.ValueKind != JsonValueKind.Object) return IsEmpty(desired);
                foreach (var property in desired.EnumerateObject())
                {
                    if (!live.TryGetProperty(property.Name, out var liveValue))
                    {
                        if (!IsEmpty(property.Value)) return false;
                        continue;
                    }
                    if (!IsSubset(property.Value, liveValue)) return false;
                }
                return true;
            case JsonValueKind.Array:
                if (live.ValueKind != JsonValueKind.Array) return desired.GetArrayLength() == 0 && live.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null;
                if (desired.GetArrayLength() != live.GetArrayLength()) return false;
                using (var desiredItems = desired.EnumerateArray())
                using (var liveItems = live.EnumerateArray())
                {
                    while (desiredItems.MoveNext() && liveItems.MoveNext())
                    {
                        if (!IsSubset(desiredItems.Current, liveItems.Current)) return false;
                    }
                }
                return true;
            default:
                if (live.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null or JsonValueKind.Object or JsonValueKind.Array) return false;
                // Equal strings are equal without decoding them (a config file or map can be 100 KB of JSON text); the same
                // text may be escaped differently by Go and .NET, so compare decoded strings next.
                if (desired.ValueKind == JsonValueKind.String && live.ValueKind == JsonValueKind.String
                    && (JsonMarshal.GetRawUtf8Value(desired).SequenceEqual(JsonMarshal.GetRawUtf8Value(live)) || desired.GetString() == live.GetString())) return true;
                // Compare scalars by their text so that 8080 and "8080" (int-or-string) or 1 and 1.0 are equal.
                return ScalarText(desired) == ScalarText(live);
        }
    }

    /// <summary>The applied-hash of a JSON object (its own annotation left out).</summary>
    public static string Hash(JsonObject json) => HashOf(WithoutAppliedHash(json));

    /// <summary>The applied-hash of a typed object (its own annotation left out): the same as of its JSON form.</summary>
    public static string Hash(IKubernetesObject<V1ObjectMeta> obj, JsonSerializerOptions json) => HashOf(WithoutAppliedHash(obj, json));

    /// <summary>The applied-hash <see cref="ApplyAsync"/> gives <paramref name="desired"/> when applied owned by <paramref name="owner"/> (it sets the reference, as the apply would).</summary>
    public static string Hash(IKubernetesObject<V1ObjectMeta> desired, IKubernetesObject<V1ObjectMeta> owner, JsonSerializerOptions json)
    {
        SetControllerReference(desired, owner);
        return Hash(desired, json);
    }

    private static string HashOf(ReadOnlySpan<byte> json) => Convert.ToHexStringLower(SHA256.HashData(json))[..16];

    // Kubernetes omits zero values (Go omitempty): initialDelaySeconds: 0, false flags and "" come back absent.
    private static bool IsEmpty(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Undefined or JsonValueKind.Null => true,
        JsonValueKind.Object => element.EnumerateObject().All(p => IsEmpty(p.Value)),
        JsonValueKind.Array => element.GetArrayLength() == 0,
        JsonValueKind.False => true,
        JsonValueKind.Number => element.GetRawText() == "0",
        JsonValueKind.String => element.ValueEquals(""),
        _ => false,
    };

    private static string ScalarText(JsonElement element)
    {
        var text = element.ValueKind == JsonValueKind.String ? element.GetString()! : element.GetRawText();
        return double.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var number)
            ? number.ToString("R", System.Globalization.CultureInfo.InvariantCulture)
            : text;
    }
}
