using System.Text.Json.Nodes;

namespace AnalysisFacility.Operator.Runtime.Apply;

/// <summary>Whether an existing object may be written; <see cref="Holder"/> names who holds it when not.</summary>
public sealed record ClaimDecision(bool Allowed, string? Holder)
{
    public static readonly ClaimDecision Free = new(true, null);
}

/// <summary>The decision, as a pure function of the live object's metadata and the desired object's labels.</summary>
public static class ObjectClaim
{
    /// <summary>
    /// An existing object may be written when it is owned by the owner we apply for (same UID), or when it was made by
    /// this operator (or released by it as adoptable) and every identity label the desired object carries has the same
    /// value on it. Anything else (another facility's object, or one the operator never made) is refused.
    /// </summary>
    public static ClaimDecision Decide(JsonObject? liveMetadata, IReadOnlyDictionary<string, string>? desiredLabels, string? ownerUid, ClaimRules rules)
    {
        if (liveMetadata is null) return ClaimDecision.Free;
        if (ownerUid is not null && liveMetadata["ownerReferences"] is JsonArray owners
            && owners.Any(o => o?["uid"]?.GetValue<string>() == ownerUid)) return ClaimDecision.Free;

        var labels = liveMetadata["labels"] as JsonObject;
        string? Label(string key) => labels?[key]?.GetValue<string>();
        foreach (var (key, noun) in rules.IdentityLabels)
        {
            if (desiredLabels is null || !desiredLabels.TryGetValue(key, out var wanted)) continue;
            var actual = Label(key);
            if (actual is not null && actual != wanted) return new ClaimDecision(false, $"belongs to {noun} '{actual}' (label {key})");
        }
        var controller = (liveMetadata["ownerReferences"] as JsonArray)?.FirstOrDefault(o => o?["controller"]?.GetValue<bool>() == true);
        var ours = Label(rules.ManagedByLabel) == rules.ManagedByValue
                   || (rules.AdoptableAnnotation is { } adoptable && liveMetadata["annotations"]?[adoptable] is not null);
        if (!ours)
        {
            return new ClaimDecision(false, controller is not null
                ? $"is owned by {controller["kind"]?.GetValue<string>()} '{controller["name"]?.GetValue<string>()}', not made by this operator"
                : $"was not made by this operator (no label {rules.ManagedByLabel}={rules.ManagedByValue})");
        }
        foreach (var (key, noun) in rules.IdentityLabels)
        {
            if (desiredLabels?.ContainsKey(key) == true && Label(key) is null)
                return new ClaimDecision(false, $"carries no {noun} label ({key}), so it is not this {noun}'s");
        }
        return ClaimDecision.Free;
    }
}
