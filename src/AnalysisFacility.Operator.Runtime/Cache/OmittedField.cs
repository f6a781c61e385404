using k8s.Models;

namespace AnalysisFacility.Operator.Runtime.Cache;

/// <summary>
/// A top-level field that an informer does not keep for the objects <see cref="AppliesTo"/> selects (a token Secret's
/// <c>data</c>, say): cache only what reconciles need. In its place the cache keeps a digest of the field
/// (<see cref="FieldDigest"/>), so the applier can still tell whether the live value is the one it applied and a
/// reconcile can tell whether annotations written beside the value still describe it; a reconcile that needs the value
/// itself reads the object by GET. controller-runtime's cache transforms (TransformFunc) serve the same end.
/// </summary>
/// <param name="JsonName">The field's name in the object's JSON (e.g. "data").</param>
/// <param name="AppliesTo">Which objects lose the field, by their metadata (labels usually).</param>
public sealed record OmittedField(string JsonName, Func<V1ObjectMeta, bool> AppliesTo);
