namespace AnalysisFacility.Operator.Controllers.Facility;

/// <summary>Outcome of the issuer part of a reconcile, for status.</summary>
public sealed record IssuerOutcome(bool? Ready, string Reason, string Message, IReadOnlyList<string> PublishedKeyIds, string? ActiveKeyId)
{
    public static IssuerOutcome Invalid(IReadOnlyList<string> errors) => new(false, FacilityPlanning.InvalidSpecReason, string.Join("; ", errors), [], null);
}
