namespace AnalysisFacility.Operator.Runtime.Apply;

/// <summary>
/// How the Applier tells its own objects from others of the same name: the managed-by label, the identity labels that
/// say whose an object is (e.g. which facility; each with the noun used in messages), and an annotation that marks an
/// object released on purpose but adoptable again by the same identity (retained data).
/// </summary>
public sealed record ClaimRules(string ManagedByLabel, string ManagedByValue, IReadOnlyDictionary<string, string> IdentityLabels, string? AdoptableAnnotation);
