namespace AnalysisFacility.Operator.Tokens.Jose;

/// <summary>Unpadded base64url (RFC 7515 section 2), the only encoding allowed inside a compact JWS.</summary>
public static class Base64Url
{
    public static string Encode(ReadOnlySpan<byte> data) => System.Buffers.Text.Base64Url.EncodeToString(data);

    /// <summary>Decodes unpadded base64url; padding or the standard alphabet's '+' and '/' are refused.</summary>
    public static byte[] Decode(string text)
    {
        if (text.AsSpan().IndexOfAny('=', '+', '/') >= 0) throw new FormatException("not unpadded base64url");
        return System.Buffers.Text.Base64Url.DecodeFromChars(text);
    }
}
