namespace AnalysisFacility.Operator.Api.V1Alpha1;

[Doc("The token gateway in front of MLflow and ServiceX: Apache httpd with mod_auth_openidc as an OAuth 2.0 resource server, which lets a request through only with a bearer token of the facility's issuer (signature checked against the issuer's JWKS, expiry, issuer and one of the facility audiences) and answers 401 otherwise.")]
public sealed class AuthGatewaySpec
{
    [Doc("Image with Apache httpd 2.4 and mod_auth_openidc under /usr/lib/apache2/modules (Debian's apache2 and libapache2-mod-auth-openidc; deploy/images/auth-gateway builds one).")]
    [Default("ghcr.io/analysisfacility/auth-gateway:2.4.12"), Pattern(Patterns.Image)] public string Image { get; set; } = "ghcr.io/analysisfacility/auth-gateway:2.4.12";

    [Doc("ConfigMap (key ca.crt) with the CA that signed the issuer's HTTPS certificate, when it is not publicly trusted; the image's CA bundle otherwise.")]
    [Pattern(Patterns.DnsSubdomain)] public string? IssuerCaConfigMap { get; set; }
}
