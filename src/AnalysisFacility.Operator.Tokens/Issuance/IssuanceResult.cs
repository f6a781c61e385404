namespace AnalysisFacility.Operator.Tokens.Issuance;

/// <summary>A value or the reasons it could not be made. Errors never contain tokens or key material.</summary>
public sealed class IssuanceResult<T> where T : class
{
    private IssuanceResult(T? value, IReadOnlyList<string> errors)
    {
        Value = value;
        Errors = errors;
    }

    public T? Value { get; }
    public IReadOnlyList<string> Errors { get; }
    public bool Succeeded => Errors.Count == 0;

    /// <summary>The value, or an exception listing every error.</summary>
    public T ValueOrThrow() => Value ?? throw new TokenIssuanceException(Errors);

    public static IssuanceResult<T> Ok(T value) => new(value, []);
    public static IssuanceResult<T> Fail(IEnumerable<string> errors) => new(null, errors.ToList());
    public static IssuanceResult<T> Fail(string error) => new(null, [error]);
}
