using System.Formats.Asn1;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace AnalysisFacility.Operator.Builders.Certificates;

/// <summary>
/// File names of an OpenSSL hashed CA directory (what <c>openssl rehash</c> makes and X509_CERT_DIR points at): the
/// XRootD client verifies servers only against such a directory (XrdCl reads X509_CERT_DIR, no CA-file variable), so a
/// ConfigMap whose keys are these names, mounted as a directory, is one.
/// </summary>
public static class OpenSslCaDirectory
{
    /// <summary>The file name OpenSSL looks a CA up by: <c>&lt;subject hash&gt;.0</c>.</summary>
    public static string FileName(X509Certificate2 certificate) => SubjectHash(certificate.SubjectName) + ".0";

    /// <summary>The file name for the first certificate of a PEM text.</summary>
    public static string FileName(string pem)
    {
        using var certificate = X509Certificate2.CreateFromPem(pem);
        return FileName(certificate);
    }

    /// <summary>
    /// OpenSSL's X509_NAME_hash (the "new" hash since 1.0.0): the first four bytes, little-endian, of the SHA-1 of the
    /// name's canonical encoding. Canonical: each RDN's SET re-encoded with string values as UTF8String, trimmed,
    /// inner whitespace collapsed to one space and ASCII lower-cased; the outer SEQUENCE left out.
    /// </summary>
    public static string SubjectHash(X500DistinguishedName name)
    {
        var canonical = new AsnWriter(AsnEncodingRules.DER);
        var sequence = new AsnReader(name.RawData, AsnEncodingRules.DER).ReadSequence();
        while (sequence.HasData)
        {
            var set = sequence.ReadSetOf();
            using (canonical.PushSetOf())
            {
                while (set.HasData)
                {
                    var attribute = set.ReadSequence();
                    var type = attribute.ReadObjectIdentifier();
                    var valueTag = attribute.PeekTag();
                    using (canonical.PushSequence())
                    {
                        canonical.WriteObjectIdentifier(type);
                        if (IsCanonicalisedString(valueTag))
                        {
                            var text = attribute.ReadCharacterString((UniversalTagNumber)valueTag.TagValue);
                            canonical.WriteCharacterString(UniversalTagNumber.UTF8String, Canonicalise(text));
                        }
                        else
                        {
                            canonical.WriteEncodedValue(attribute.ReadEncodedValue().Span);
                        }
                    }
                }
            }
        }
        var digest = SHA1.HashData(canonical.Encode());
        var value = (uint)(digest[0] | digest[1] << 8 | digest[2] << 16 | digest[3] << 24);
        return value.ToString("x8", CultureInfo.InvariantCulture);
    }

    // OpenSSL's ASN1_MASK_CANON: the string types it converts and folds; others are hashed as they are.
    private static bool IsCanonicalisedString(Asn1Tag tag) =>
        tag.TagClass == TagClass.Universal && (UniversalTagNumber)tag.TagValue is UniversalTagNumber.UTF8String or UniversalTagNumber.BMPString
            or UniversalTagNumber.UniversalString or UniversalTagNumber.PrintableString or UniversalTagNumber.T61String
            or UniversalTagNumber.IA5String or UniversalTagNumber.VisibleString;

    private static string Canonicalise(string text)
    {
        var result = new StringBuilder(text.Length);
        var pendingSpace = false;
        foreach (var c in text.Trim(' ', '\t', '\n', '\v', '\f', '\r'))
        {
            if (c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r')
            {
                pendingSpace = true;
                continue;
            }
            if (pendingSpace) result.Append(' ');
            pendingSpace = false;
            result.Append(c is >= 'A' and <= 'Z' ? (char)(c + 32) : c);
        }
        return result.ToString();
    }
}
