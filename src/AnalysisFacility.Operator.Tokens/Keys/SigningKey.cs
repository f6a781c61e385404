using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AnalysisFacility.Operator.Tokens.Jose;

namespace AnalysisFacility.Operator.Tokens.Keys;

/// <summary>
/// One asymmetric signing key (ES256 on P-256, or RS256) with its RFC 7638 thumbprint as key id.
/// The private part leaves this object only as PKCS#8 PEM for the facility's Secret; <see cref="ToString"/> never shows it.
/// </summary>
public sealed class SigningKey
{
    private const string P256Oid = "1.2.840.10045.3.1.7";
    private readonly ECDsa? _ec;
    private readonly RSA? _rsa;

    private SigningKey(ECDsa? ec, RSA? rsa)
    {
        _ec = ec;
        _rsa = rsa;
        Algorithm = ec is not null ? JwsAlgorithms.ES256 : JwsAlgorithms.RS256;
        KeyId = ComputeThumbprint();
    }

    /// <summary>JWS algorithm: ES256 or RS256.</summary>
    public string Algorithm { get; }

    /// <summary>RFC 7638 JWK SHA-256 thumbprint, base64url.</summary>
    public string KeyId { get; }

    /// <summary>RSA modulus size in bits (256 for P-256).</summary>
    public int KeySize => _ec?.KeySize ?? _rsa!.KeySize;

    public static SigningKey GenerateEs256() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256), null);

    public static SigningKey GenerateRs256(int keySize)
    {
        if (keySize is < JwsAlgorithms.MinimumRsaKeySize or > JwsAlgorithms.MaximumRsaKeySize)
        {
            throw new ArgumentOutOfRangeException(nameof(keySize), keySize,
                $"RSA key size must be {JwsAlgorithms.MinimumRsaKeySize} to {JwsAlgorithms.MaximumRsaKeySize} bits");
        }
        return new SigningKey(null, RSA.Create(keySize));
    }

    /// <summary>Loads a PKCS#8 PEM private key: P-256 EC (ES256) or RSA of at least 2048 bits (RS256).</summary>
    public static SigningKey FromPkcs8Pem(string pem)
    {
        // The PEM text is never echoed in errors: it is a private key.
        if (pem.Contains("BEGIN PRIVATE KEY", StringComparison.Ordinal) is false)
        {
            throw new FormatException("the signing key is not a PKCS#8 PEM private key");
        }
        try
        {
            var ec = ECDsa.Create();
            ec.ImportFromPem(pem);
            var curve = ec.ExportParameters(false).Curve;
            if (curve.Oid?.Value != P256Oid && curve.Oid?.FriendlyName is not ("nistP256" or "ECDSA_P256"))
            {
                throw new FormatException("the EC signing key is not on curve P-256 (ES256 needs P-256)");
            }
            return new SigningKey(ec, null);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            // not an EC key: try RSA below
        }
        try
        {
            var rsa = RSA.Create();
            rsa.ImportFromPem(pem);
            if (rsa.KeySize < JwsAlgorithms.MinimumRsaKeySize)
            {
                throw new FormatException($"the RSA signing key has {rsa.KeySize} bits; at least {JwsAlgorithms.MinimumRsaKeySize} are required");
            }
            return new SigningKey(null, rsa);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new FormatException("the signing key is neither a P-256 EC key nor an RSA key");
        }
    }

    public string ExportPkcs8Pem() => _ec?.ExportPkcs8PrivateKeyPem() ?? _rsa!.ExportPkcs8PrivateKeyPem();

    /// <summary>JWS signature over <paramref name="signingInput"/>: ES256 as IEEE P1363 r||s (64 bytes), RS256 as PKCS#1 v1.5.</summary>
    public byte[] Sign(ReadOnlySpan<byte> signingInput) => _ec is not null
        ? _ec.SignData(signingInput, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
        : _rsa!.SignData(signingInput.ToArray(), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);

    public bool Verify(ReadOnlySpan<byte> signingInput, ReadOnlySpan<byte> signature) => _ec is not null
        ? _ec.VerifyData(signingInput, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
        : _rsa!.VerifyData(signingInput, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);

    /// <summary>Writes the public JWK (with kid, use and alg) as a JSON object.</summary>
    public void WritePublicJwk(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        foreach (var (name, value) in PublicMembers()) writer.WriteString(name, value);
        writer.WriteString("kid", KeyId);
        writer.WriteString("use", "sig");
        writer.WriteString("alg", Algorithm);
        writer.WriteEndObject();
    }

    public override string ToString() => $"{Algorithm} key {KeyId}";

    /// <summary>The required public members in lexicographic order, as RFC 7638 section 3.2 demands for the thumbprint.</summary>
    private IEnumerable<(string Name, string Value)> PublicMembers()
    {
        if (_ec is not null)
        {
            var p = _ec.ExportParameters(false);
            return [("crv", "P-256"), ("kty", "EC"), ("x", Base64Url.Encode(p.Q.X)), ("y", Base64Url.Encode(p.Q.Y))];
        }
        var r = _rsa!.ExportParameters(false);
        return [("e", Base64Url.Encode(r.Exponent)), ("kty", "RSA"), ("n", Base64Url.Encode(r.Modulus))];
    }

    private string ComputeThumbprint()
    {
        // RFC 7638: the required members only, sorted, no whitespace; the values contain no characters JSON would escape.
        var json = new StringBuilder("{");
        foreach (var (name, value) in PublicMembers())
        {
            if (json.Length > 1) json.Append(',');
            json.Append('"').Append(name).Append("\":\"").Append(value).Append('"');
        }
        json.Append('}');
        return Base64Url.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(json.ToString())));
    }
}
