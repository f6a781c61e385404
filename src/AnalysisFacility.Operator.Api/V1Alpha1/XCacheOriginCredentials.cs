namespace AnalysisFacility.Operator.Api.V1Alpha1;

[Doc("How the cache authenticates to its origin. Set exactly one of token and x509Proxy; without this the cache reads anonymously.")]
public sealed class XCacheOriginCredentials
{
    [Doc("A WLCG bearer token the cache's XRootD client presents to the origin (ztn), found through BEARER_TOKEN_FILE and refreshed in place.")]
    public XCacheOriginToken? Token { get; set; }

    [Doc("An x509 proxy (GSI) from a Secret, presented through X509_USER_PROXY.")]
    [JsonPropertyName("x509Proxy")] public XCacheOriginProxy? X509Proxy { get; set; }

    [Doc("ConfigMap of OpenSSL-hashed CA certificates (as in /etc/grid-security/certificates) the cache uses to verify the origin's TLS certificate; the image's /etc/grid-security/certificates when empty.")]
    [Pattern(Patterns.DnsSubdomain)] public string? CaCertificatesConfigMap { get; set; }

    [Doc("Image of the init container and sidecar that copy the credential into the cache pod (sh, tr, cat, cmp, mv, ln, sleep).")]
    [Default("busybox:1.36"), Pattern(Patterns.Image)] public string HelperImage { get; set; } = "busybox:1.36";
}

[Doc("The cache's own token: minted by a facility's issuer for the cache's robot identity (facilityRef), or kept fresh by someone else in a Secret (secretRef).")]
public sealed class XCacheOriginToken
{
    [Doc("AnalysisFacility whose issuer mints the robot token (subject derived from xcache.<instance name>), refreshed at half its lifetime.")]
    [Pattern(Patterns.DnsLabel)] public string? FacilityRef { get; set; }

    [Doc("Audience the origin accepts (required with facilityRef).")]
    public string? Audience { get; set; }

    [Doc("Scopes of the robot token; storage.read:<path> for every exported path when empty.")]
    [Items(Unique = true, MaxItems = 16)] public List<string> Scopes { get; set; } = [];

    [Doc("Secret key holding a token from a trusted issuer (e.g. the experiment's IAM), refreshed by its owner; alternative to facilityRef.")]
    public SecretKeyReference? SecretRef { get; set; }
}

[Doc("An x509 proxy certificate in a Secret.")]
public sealed class XCacheOriginProxy
{
    [Doc("Secret holding the proxy (certificate, key and chain in one PEM file).")]
    [Required, Pattern(Patterns.DnsSubdomain)] public string SecretName { get; set; } = "";

    [Doc("Key of the proxy in the Secret.")]
    [Default("x509up")] public string Key { get; set; } = "x509up";
}
