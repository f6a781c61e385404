using System.Text.Json.Nodes;

namespace AnalysisFacility.Operator.Dev;

/// <summary>JSON merge patch (RFC 7386): objects merge key by key, null removes, anything else replaces.</summary>
public static class MergePatch
{
    public static void Apply(JsonObject target, JsonObject patch)
    {
        foreach (var (key, value) in patch.ToList())
        {
            if (value is null) target.Remove(key);
            else if (value is JsonObject patchObject && target[key] is JsonObject targetObject) Apply(targetObject, patchObject);
            else target[key] = value.DeepClone();
        }
    }
}
