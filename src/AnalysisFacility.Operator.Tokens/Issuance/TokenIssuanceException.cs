namespace AnalysisFacility.Operator.Tokens.Issuance;

/// <summary>Thrown by <see cref="IssuanceResult{T}.ValueOrThrow"/>; the message lists what was refused and why.</summary>
public sealed class TokenIssuanceException(IReadOnlyList<string> errors) : Exception(string.Join("; ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
