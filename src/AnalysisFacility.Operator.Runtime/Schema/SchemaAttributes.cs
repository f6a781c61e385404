namespace AnalysisFacility.Operator.Runtime.Schema;

// Attributes that describe a custom resource and the OpenAPI v3 schema of its fields.
// The CRD generator reads them by reflection; nothing else in the runtime depends on them.

/// <summary>Marks a class as the root type of a custom resource.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class CustomResourceAttribute(string group, string version, string kind, string plural) : Attribute
{
    public string Group { get; } = group;
    public string Version { get; } = version;
    public string Kind { get; } = kind;
    public string Plural { get; } = plural;
    public string[] ShortNames { get; init; } = [];
    public string[] Categories { get; init; } = [];
    /// <summary>Namespaced (true) or cluster scoped.</summary>
    public bool Namespaced { get; init; } = true;
    public string Description { get; init; } = "";
}

/// <summary>A column shown by <c>kubectl get</c>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public sealed class PrinterColumnAttribute(string name, string type, string jsonPath) : Attribute
{
    public string Name { get; } = name;
    public string Type { get; } = type;
    public string JsonPath { get; } = jsonPath;
    public string Description { get; init; } = "";
    /// <summary>0 shows by default, higher values only with <c>-o wide</c>.</summary>
    public int Priority { get; init; }
}

/// <summary>Documentation of a type or field; shown by <c>kubectl explain</c>.</summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Property)]
public sealed class DocAttribute(string text) : Attribute
{
    public string Text { get; } = text;
}

[AttributeUsage(AttributeTargets.Property)]
public sealed class RequiredAttribute : Attribute;

/// <summary>Default value written by the API server (structural schema default).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class DefaultAttribute(object value) : Attribute
{
    public object Value { get; } = value;
}

[AttributeUsage(AttributeTargets.Property)]
public sealed class EnumAttribute(params string[] values) : Attribute
{
    public string[] Values { get; } = values;
}

[AttributeUsage(AttributeTargets.Property)]
public sealed class PatternAttribute(string regex) : Attribute
{
    public string Regex { get; } = regex;
}

[AttributeUsage(AttributeTargets.Property)]
public sealed class RangeAttribute : Attribute
{
    public double Minimum { get; init; } = double.NaN;
    public double Maximum { get; init; } = double.NaN;
}

[AttributeUsage(AttributeTargets.Property)]
public sealed class LengthAttribute : Attribute
{
    public long MinLength { get; init; } = -1;
    public long MaxLength { get; init; } = -1;
}

[AttributeUsage(AttributeTargets.Property)]
public sealed class ItemsAttribute : Attribute
{
    public long MinItems { get; init; } = -1;
    public long MaxItems { get; init; } = -1;
    /// <summary>Items must be unique (list type "set" for scalar lists).</summary>
    public bool Unique { get; init; }
    /// <summary>For lists of objects: the field(s) that key a "map" list (duplicates are rejected by the API server).</summary>
    public string[] MapKeys { get; init; } = [];
}

/// <summary>A field whose content is kept as is (e.g. embedded pod templates or env lists).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class PreserveUnknownFieldsAttribute : Attribute;

/// <summary>A field that accepts an integer or a string (Kubernetes quantities, int-or-string ports).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class IntOrStringAttribute : Attribute;
