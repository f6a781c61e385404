namespace AnalysisFacility.Operator.Builders.Common;

/// <summary>The recommended Kubernetes labels every object the operator makes carries.</summary>
public static class Labels
{
    public const string Name = "app.kubernetes.io/name";
    public const string Instance = "app.kubernetes.io/instance";
    public const string Component = "app.kubernetes.io/component";
    public const string PartOf = "app.kubernetes.io/part-of";
    public const string ManagedBy = "app.kubernetes.io/managed-by";
    public const string ManagedByValue = "analysisfacility-operator";
    /// <summary>The hub user a per-user object belongs to (sanitised to a label value).</summary>
    public const string User = "analysisfacility.io/user";
    /// <summary>The facility an object belongs to.</summary>
    public const string Facility = "analysisfacility.io/facility";

    /// <summary>Labels for one component of one owner, e.g. ("hub", "cms-af").</summary>
    public static Dictionary<string, string> For(string application, string instance, string component, string facility) => new()
    {
        [Name] = application,
        [Instance] = instance,
        [Component] = component,
        [PartOf] = "analysisfacility",
        [ManagedBy] = ManagedByValue,
        [Facility] = facility,
    };

    /// <summary>The subset used as a selector (stable across upgrades: never add labels to a selector later).</summary>
    public static Dictionary<string, string> Selector(string application, string instance, string component) => new()
    {
        [Name] = application,
        [Instance] = instance,
        [Component] = component,
    };

    /// <summary>Turns any string into a valid label value (63 chars, alphanumerics plus -_.); stable for the same input.</summary>
    public static string SafeValue(string value)
    {
        var chars = value.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-').ToArray();
        var text = new string(chars).Trim('-', '_', '.');
        if (text.Length > 63) text = text[..63].TrimEnd('-', '_', '.');
        return text;
    }
}
