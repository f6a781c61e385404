namespace AnalysisFacility.Operator.Api.V1Alpha1;

[Doc("Rucio client configuration for sessions: RUCIO_HOME with etc/rucio.cfg for the experiment's Rucio.")]
public sealed class RucioSpec
{
    [Doc("Give sessions a Rucio client configuration.")]
    public bool Enabled { get; set; }

    [Doc("Rucio server URL (rucio_host), e.g. https://cms-rucio.cern.ch.")]
    [Pattern("^https?://.+")] public string? Host { get; set; }

    [Doc("Rucio authentication server URL (auth_host), e.g. https://cms-rucio-auth.cern.ch.")]
    [Pattern("^https?://.+")] public string? AuthHost { get; set; }

    [Doc("oidc: the session's bearer token file is the Rucio token (auth_token_file_path; the token must come from an issuer the Rucio server trusts); x509_proxy: the user's proxy at X509_USER_PROXY.")]
    [Default("oidc"), Enum("oidc", "x509_proxy")] public string AuthType { get; set; } = "oidc";

    [Doc("oidc_issuer of rucio.cfg: the name the Rucio server gives the token issuer (e.g. cms).")]
    public string? OidcIssuer { get; set; }

    [Doc("VO of a multi-VO Rucio (vo); the server's default when empty.")]
    public string? Vo { get; set; }

    [Doc("CA directory (ca_cert) for the Rucio servers; sessions' X509_CERT_DIR, when set, takes precedence in the Rucio client.")]
    [Default("/etc/grid-security/certificates"), Pattern(Patterns.AbsolutePath)] public string CaCertificates { get; set; } = "/etc/grid-security/certificates";

    [Doc("How a hub user's Rucio account is found: map (only accounts), storeName (the user's store directory name, e.g. the CMS user name, unless mapped in accounts).")]
    [Default("map"), Enum("map", "storeName")] public string AccountFrom { get; set; } = "map";

    [Doc("Explicit account of hub users (wins over accountFrom).")]
    [Items(MapKeys = ["user"])] public List<RucioAccountMapping> Accounts { get; set; } = [];
}

public sealed class RucioAccountMapping
{
    [Doc("Hub user name.")]
    [Required, Pattern(Patterns.UserName)] public string User { get; set; } = "";

    [Doc("Rucio account.")]
    [Required, Pattern("^[a-z0-9_-]{1,25}$")] public string Account { get; set; } = "";
}
