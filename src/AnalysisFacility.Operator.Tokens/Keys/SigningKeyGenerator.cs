using AnalysisFacility.Operator.Tokens.Jose;

namespace AnalysisFacility.Operator.Tokens.Keys;

/// <summary>Makes new signing keys; injectable so rotation tests can use cheap or pre-made keys.</summary>
public interface ISigningKeyGenerator
{
    SigningKey Generate(string algorithm, int rsaKeySize);
}

/// <summary>Fresh keys from the operating system's CSPRNG.</summary>
public sealed class SigningKeyGenerator : ISigningKeyGenerator
{
    public static SigningKeyGenerator Instance { get; } = new();

    public SigningKey Generate(string algorithm, int rsaKeySize) => algorithm switch
    {
        JwsAlgorithms.ES256 => SigningKey.GenerateEs256(),
        JwsAlgorithms.RS256 => SigningKey.GenerateRs256(rsaKeySize),
        _ => throw new ArgumentException($"unsupported signing algorithm '{algorithm}'; allowed: {string.Join(", ", JwsAlgorithms.Supported)}", nameof(algorithm)),
    };
}
