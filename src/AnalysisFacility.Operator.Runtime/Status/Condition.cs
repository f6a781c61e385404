using AnalysisFacility.Operator.Runtime.Schema;

namespace AnalysisFacility.Operator.Runtime.Status;

/// <summary>A condition in the Kubernetes convention (metav1.Condition).</summary>
public sealed class Condition
{
    [Doc("Type of condition in CamelCase, e.g. Ready.")]
    [Required] public string Type { get; set; } = "";

    [Doc("Status of the condition: True, False or Unknown.")]
    [Required, Enum("True", "False", "Unknown")] public string Status { get; set; } = "Unknown";

    [Doc("Machine-readable reason for the last transition, in CamelCase.")]
    public string? Reason { get; set; }

    [Doc("Human-readable details of the last transition.")]
    public string? Message { get; set; }

    [Doc("When the condition last changed status (RFC 3339).")]
    public DateTime? LastTransitionTime { get; set; }

    [Doc("The metadata.generation the condition was computed from.")]
    public long? ObservedGeneration { get; set; }
}

