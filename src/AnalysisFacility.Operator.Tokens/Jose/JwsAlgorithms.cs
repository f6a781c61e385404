namespace AnalysisFacility.Operator.Tokens.Jose;

/// <summary>The JWS algorithms the issuer signs with (WLCG profile: RS256 and ES256 must be supported by consumers).</summary>
public static class JwsAlgorithms
{
    public const string ES256 = "ES256";
    public const string RS256 = "RS256";
    public const int MinimumRsaKeySize = 2048;
    public const int MaximumRsaKeySize = 8192;

    public static IReadOnlyList<string> Supported { get; } = [ES256, RS256];

    public static bool IsSupported(string? algorithm) => algorithm is ES256 or RS256;
}
