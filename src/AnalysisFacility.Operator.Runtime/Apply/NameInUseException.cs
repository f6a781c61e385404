namespace AnalysisFacility.Operator.Runtime.Apply;

/// <summary>An object of the desired name exists and is someone else's: never written.</summary>
public sealed class NameInUseException(string kind, string? @namespace, string name, string holder)
    : Exception($"{kind} {(@namespace is null ? "" : @namespace + "/")}{name} already exists and {holder}; it is left untouched. Choose another name or remove that object.")
{
    public string Kind { get; } = kind;
    public string ObjectName { get; } = name;
    public string Holder { get; } = holder;
}
