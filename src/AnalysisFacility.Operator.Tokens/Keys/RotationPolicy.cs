using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Tokens.Issuance;
using AnalysisFacility.Operator.Tokens.Jose;

namespace AnalysisFacility.Operator.Tokens.Keys;

/// <summary>How the facility's signing keys rotate (validated form of <see cref="KeyRotationSpec"/>).</summary>
/// <param name="Period">A key signs for this long before its successor takes over.</param>
/// <param name="PublishLeadTime">A successor is in the JWKS this long before it signs anything.</param>
/// <param name="KeyCacheTime">How long consumers may cache the JWKS.</param>
/// <param name="MaxTokenLifetime">Upper bound of any token's lifetime; a retired key stays published this long
/// (plus <paramref name="KeyCacheTime"/>) after it last signed. Defaults to the profile's maximum so a lifetime
/// change in the spec can never strand a token.</param>
public sealed record RotationPolicy(
    string Algorithm,
    int RsaKeySize,
    TimeSpan Period,
    TimeSpan PublishLeadTime,
    TimeSpan KeyCacheTime,
    TimeSpan MaxTokenLifetime)
{
    public static RotationPolicy Default { get; } = new(JwsAlgorithms.ES256, 3072,
        TimeSpan.FromHours(720), TimeSpan.FromHours(96), TimeSpan.FromHours(96), TokenLifetimes.Maximum);

    /// <summary>Validates the spec; errors name the field, the problem and what is allowed.</summary>
    public static IssuanceResult<RotationPolicy> FromSpec(TokenIssuerSpec spec)
    {
        var errors = new List<string>();
        if (!JwsAlgorithms.IsSupported(spec.Algorithm))
        {
            errors.Add($"spec.tokens.algorithm: '{spec.Algorithm}' is not supported; allowed: {string.Join(", ", JwsAlgorithms.Supported)}");
        }
        if (spec.RsaKeySize is < JwsAlgorithms.MinimumRsaKeySize or > JwsAlgorithms.MaximumRsaKeySize)
        {
            errors.Add($"spec.tokens.rsaKeySize: {spec.RsaKeySize} is out of range; allowed: {JwsAlgorithms.MinimumRsaKeySize} to {JwsAlgorithms.MaximumRsaKeySize} bits");
        }
        var period = Parse(spec.Rotation.Period, "spec.tokens.rotation.period", errors);
        var lead = Parse(spec.Rotation.PublishLeadTime, "spec.tokens.rotation.publishLeadTime", errors);
        var cache = Parse(spec.Rotation.KeyCacheTime, "spec.tokens.rotation.keyCacheTime", errors);
        if (period is { } p && p <= TimeSpan.Zero) errors.Add("spec.tokens.rotation.period: must be longer than 0s");
        if (period is { } p2 && lead is { } l && l >= p2)
        {
            errors.Add($"spec.tokens.rotation.publishLeadTime: {spec.Rotation.PublishLeadTime} must be shorter than the rotation period {spec.Rotation.Period}");
        }
        if (errors.Count > 0) return IssuanceResult<RotationPolicy>.Fail(errors);
        return IssuanceResult<RotationPolicy>.Ok(new RotationPolicy(spec.Algorithm, spec.RsaKeySize, period!.Value, lead!.Value, cache!.Value, TokenLifetimes.Maximum));
    }

    private static TimeSpan? Parse(string text, string field, List<string> errors)
    {
        if (DurationText.TryParse(text, out var value)) return value;
        errors.Add($"{field}: '{text}' is not a duration; use hours, minutes and seconds such as 96h or 1h30m");
        return null;
    }
}
