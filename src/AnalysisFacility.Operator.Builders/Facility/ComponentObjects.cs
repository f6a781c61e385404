using k8s;
using k8s.Models;

namespace AnalysisFacility.Operator.Builders.Facility;

/// <summary>A workload whose readiness makes up a component's condition.</summary>
public sealed record WorkloadReference(string Kind, string Name);

/// <summary>
/// The desired objects of one facility component. <see cref="Errors"/> non-empty means the component's spec is
/// invalid: then <see cref="Objects"/> is empty and the controller must leave what runs alone (not prune it).
/// </summary>
public sealed record ComponentObjects
{
    /// <summary>Component name: hub, htcondor, servicex, triton, mlflow, userstore.</summary>
    public required string Component { get; init; }

    /// <summary>The condition type derived from the workloads, e.g. HubReady.</summary>
    public required string ConditionType { get; init; }

    public bool Enabled { get; init; }

    public IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Objects { get; init; } = [];

    /// <summary>Deployments, StatefulSets and DaemonSets whose readiness the condition reflects.</summary>
    public IReadOnlyList<WorkloadReference> Workloads { get; init; } = [];

    public IReadOnlyList<string> Errors { get; init; } = [];

    /// <summary>
    /// More conditions the component reports about parts it chose not to run (e.g. a DID finder without its
    /// credential). They inform; they do not hold the facility's Ready back. A False one is also sent as a warning Event.
    /// </summary>
    public IReadOnlyList<Sessions.ServiceCondition> Notices { get; init; } = [];

    public bool IsValid => Errors.Count == 0;

    public static ComponentObjects Disabled(string component, string conditionType) =>
        new() { Component = component, ConditionType = conditionType, Enabled = false };

    public static ComponentObjects Invalid(string component, string conditionType, IReadOnlyList<string> errors) =>
        new() { Component = component, ConditionType = conditionType, Enabled = true, Errors = errors };

    /// <summary>Builds the result and derives the workload list from the objects.</summary>
    public static ComponentObjects Of(string component, string conditionType, IReadOnlyList<IKubernetesObject<V1ObjectMeta>> objects) => new()
    {
        Component = component,
        ConditionType = conditionType,
        Enabled = true,
        Objects = objects,
        Workloads = objects
            .Where(o => o is V1Deployment or V1StatefulSet or V1DaemonSet)
            .Select(o => new WorkloadReference(o.Kind, o.Metadata.Name))
            .ToList(),
    };
}
