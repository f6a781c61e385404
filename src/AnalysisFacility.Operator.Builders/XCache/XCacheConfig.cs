using System.Globalization;
using System.Text;
using System.Text.Json;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Runtime.Client;

namespace AnalysisFacility.Operator.Builders.XCache;

/// <summary>
/// The issuer an XCacheInstance trusts, resolved by the controller from the AnalysisFacility named in
/// <c>spec.authorization.facilityRef</c> (its issuer URL and service audiences).
/// <paramref name="CaBundleConfigMap"/>: the facility's published issuer CA (files <c>*.crt</c>), added to the image's
/// CA bundle by <see cref="XCacheIssuerTrust"/>, because scitokens-cpp's libcurl only trusts the bundle compiled into
/// it and honours no CA environment variable.
/// </summary>
/// <paramref name="TrustedIssuers"/> are the facility's spec.tokens.trustedIssuers (e.g. the experiment's IAM).
public sealed record XCacheIssuerSettings(string IssuerUrl, IReadOnlyList<string> Audiences, string? CaBundleConfigMap = null,
    IReadOnlyList<XCacheTrustedIssuer>? TrustedIssuers = null);

/// <summary>Another issuer the cache accepts: its own [Issuer] section, its scopes relative to <paramref name="BasePath"/>, its audiences.</summary>
public sealed record XCacheTrustedIssuer(string Name, string Issuer, string BasePath, IReadOnlyList<string> Audiences);

/// <summary>What the cache trusts for WLCG tokens: one issuer, the namespace its scopes are relative to, and the audiences.</summary>
public sealed record XCacheTokenTrust(string Issuer, string BasePath, IReadOnlyList<string> Audiences)
{
    /// <summary>More issuers, each in its own section (their audiences are part of <see cref="Audiences"/>).</summary>
    public IReadOnlyList<XCacheTrustedIssuer> TrustedIssuers { get; init; } = [];
}

/// <summary>
/// The cache behaviour taken from the spec, independent of where xrootd runs (pod or loopback test), so the
/// same text that a pod loads is the text a test loads.
/// </summary>
public sealed record XCacheSettings(
    string Origin,
    IReadOnlyList<string> ExportedPaths,
    string Ram,
    string LowWatermark,
    string HighWatermark,
    string BlockSize,
    int Prefetch,
    XCacheTokenTrust? Tokens)
{
    /// <summary>
    /// Reads the settings from a spec. <paramref name="facilityIssuer"/> replaces issuer and audiences when
    /// authorization uses facilityRef. Call <see cref="XCacheValidator.Validate"/> first.
    /// </summary>
    public static XCacheSettings FromSpec(XCacheInstanceSpec spec, XCacheIssuerSettings? facilityIssuer)
    {
        XCacheTokenTrust? tokens = null;
        if (spec.Authorization is { } authorization)
        {
            var useFacility = !string.IsNullOrEmpty(authorization.FacilityRef) && facilityIssuer is not null;
            var trusted = useFacility ? facilityIssuer!.TrustedIssuers ?? [] : [];
            tokens = new XCacheTokenTrust(
                useFacility ? facilityIssuer!.IssuerUrl : authorization.Issuer ?? "",
                authorization.BasePath,
                useFacility ? [.. facilityIssuer!.Audiences.Concat(trusted.SelectMany(t => t.Audiences)).Distinct(StringComparer.Ordinal)] : [.. authorization.Audiences])
            {
                TrustedIssuers = trusted,
            };
        }
        return new XCacheSettings(spec.Origin, [.. spec.ExportedPaths], spec.Ram, spec.Watermarks.Low, spec.Watermarks.High,
            spec.BlockSize, spec.Prefetch, tokens);
    }
}

/// <summary>Where xrootd listens and keeps its files: the pod layout, or temporary directories in a test.</summary>
public sealed record XCacheLayout(
    int XrootPort,
    int? HttpPort,
    string NamespaceDirectory,
    string MetaDirectory,
    string DataDirectory,
    string AdminDirectory,
    string ScitokensConfigPath,
    string TlsCertificatePath,
    string TlsKeyPath,
    string TlsCaFile)
{
    public const int DefaultXrootPort = 1094;
    public const string ConfigDirectory = "/etc/xrootd/xcache";
    public const string XrootdConfigFile = "xrootd.cfg";
    public const string ScitokensConfigFile = "scitokens.cfg";
    public const string CacheMountPath = "/xcache";
    public const string RunDirectory = "/run/xrootd";
    public const string TlsDirectory = "/etc/xrootd/tls";

    /// <summary>The layout inside the cache pod (ConfigMap, PVC, emptyDir and TLS Secret mounts).</summary>
    public static XCacheLayout Pod(int? httpPort) => new(
        DefaultXrootPort,
        httpPort,
        CacheMountPath + "/namespace",
        CacheMountPath + "/meta",
        CacheMountPath + "/data",
        RunDirectory,
        ConfigDirectory + "/" + ScitokensConfigFile,
        TlsDirectory + "/tls.crt",
        PrivateKeyCopyPath,
        TlsDirectory + "/ca.crt");

    /// <summary>
    /// Where the pod's start script copies the TLS key. xrootd refuses a key file that its group may read
    /// ("excessive access rights"), and a Secret volume under fsGroup is always group-readable (kubernetes#57923),
    /// so the key is copied to a 0400 file of the xrootd account in the pod's own run directory.
    /// </summary>
    public const string PrivateKeyCopyPath = RunDirectory + "/tls.key";

    /// <summary>The key as the TLS Secret volume holds it.</summary>
    public const string PrivateKeySecretPath = TlsDirectory + "/tls.key";

    public IEnumerable<string> DirectoriesToCreate => [NamespaceDirectory, MetaDirectory, DataDirectory, AdminDirectory];
}

/// <summary>Renders the xrootd proxy-file-cache configuration and the xrootd-scitokens configuration.</summary>
public static class XCacheConfig
{
    /// <summary>
    /// The xrootd configuration of a proxy file cache: the proxy storage system (pss) forwards to the origin and
    /// the proxy file cache (pfc) keeps blocks on disk (XRootD "Proxy File Cache" reference).
    /// </summary>
    public static string RenderXrootd(XCacheSettings settings, XCacheLayout layout)
    {
        var text = new StringBuilder();
        text.AppendLine("# Generated by analysisfacility-operator; edits are overwritten.");
        text.AppendLine("all.role server");
        foreach (var path in settings.ExportedPaths) text.AppendLine($"all.export {path}");
        text.AppendLine($"xrd.port {layout.XrootPort.ToString(CultureInfo.InvariantCulture)}");
        text.AppendLine($"all.adminpath {layout.AdminDirectory}");
        text.AppendLine($"all.pidpath {layout.AdminDirectory}");
        text.AppendLine();
        text.AppendLine("# Proxy storage system in front of the origin, with the proxy file cache plug-in.");
        text.AppendLine("ofs.osslib libXrdPss.so");
        text.AppendLine("pss.cachelib libXrdPfc.so");
        text.AppendLine($"pss.origin {PssOrigin(settings.Origin)}");
        text.AppendLine();
        text.AppendLine("# Cache storage: the namespace holds links into the data and meta (cinfo) spaces.");
        text.AppendLine($"oss.localroot {layout.NamespaceDirectory}");
        text.AppendLine($"oss.space meta {layout.MetaDirectory}");
        text.AppendLine($"oss.space data {layout.DataDirectory}");
        text.AppendLine("pfc.spaces data meta");
        text.AppendLine($"pfc.ram {settings.Ram}");
        text.AppendLine($"pfc.diskusage {settings.LowWatermark} {settings.HighWatermark}");
        text.AppendLine($"pfc.blocksize {settings.BlockSize}");
        text.AppendLine($"pfc.prefetch {settings.Prefetch.ToString(CultureInfo.InvariantCulture)}");

        if (layout.HttpPort is { } httpPort)
        {
            text.AppendLine();
            text.AppendLine("# HTTP(S) access through XrdHttp.");
            text.AppendLine($"xrd.protocol XrdHttp:{httpPort.ToString(CultureInfo.InvariantCulture)} libXrdHttp.so");
            if (settings.Tokens is not null)
            {
                // XrdHttp hands the Authorization header to the authorization plug-in as the authz CGI.
                text.AppendLine("http.header2cgi Authorization authz");
            }
        }

        if (settings.Tokens is not null)
        {
            text.AppendLine();
            text.AppendLine("# WLCG bearer tokens. The ztn security protocol only runs over TLS, so TLS is enabled.");
            text.AppendLine($"xrd.tls {layout.TlsCertificatePath} {layout.TlsKeyPath}");
            text.AppendLine($"xrd.tlsca certfile {layout.TlsCaFile}");
            text.AppendLine("xrootd.tls capable all");
            text.AppendLine("xrootd.seclib libXrdSec.so");
            text.AppendLine("sec.protocol ztn");
            // No "++": the scitokens plug-in is the only authorization, so every request needs a valid token.
            text.AppendLine("ofs.authorize 1");
            text.AppendLine($"ofs.authlib libXrdAccSciTokens.so config={layout.ScitokensConfigPath}");
            text.AppendLine("scitokens.trace error warning info");
        }
        return text.ToString();
    }

    /// <summary>The xrootd-scitokens configuration: accepted audiences in [Global], one [Issuer ...] section.</summary>
    public static string RenderScitokens(XCacheTokenTrust tokens)
    {
        var text = new StringBuilder();
        text.AppendLine("# Generated by analysisfacility-operator; edits are overwritten.");
        text.AppendLine("[Global]");
        // audience_json allows any characters in an audience (URLs included) and takes precedence over audience.
        text.AppendLine($"audience_json = {JsonSerializer.Serialize(tokens.Audiences.ToArray(), RuntimeJsonContext.Default.StringArray)}");
        text.AppendLine("onmissing = deny");
        text.AppendLine();
        text.AppendLine("[Issuer facility]");
        text.AppendLine($"issuer = {tokens.Issuer}");
        text.AppendLine($"base_path = {tokens.BasePath}");
        // spec.tokens.trustedIssuers: one section each; the plug-in picks the section whose issuer equals the token's iss.
        foreach (var trusted in tokens.TrustedIssuers)
        {
            text.AppendLine();
            text.AppendLine($"[Issuer trusted-{trusted.Name}]");
            text.AppendLine($"issuer = {trusted.Issuer}");
            text.AppendLine($"base_path = {trusted.BasePath}");
        }
        return text.ToString();
    }

    /// <summary>
    /// pss.origin takes host:port for the xroot protocol; a TLS origin keeps its roots:// scheme.
    /// The default xroot port 1094 is written explicitly.
    /// </summary>
    public static string PssOrigin(string origin)
    {
        var (scheme, host, port) = ParseOrigin(origin) ?? throw new ArgumentException("origin is not root://host[:port]", nameof(origin));
        var hostPort = $"{host}:{port.ToString(CultureInfo.InvariantCulture)}";
        return scheme == "roots" ? $"roots://{hostPort}" : hostPort;
    }

    /// <summary>Parses root[s]://host[:port][/]; null when the text has another form.</summary>
    public static (string Scheme, string Host, int Port)? ParseOrigin(string origin)
    {
        var match = System.Text.RegularExpressions.Regex.Match(origin ?? "", "^(roots?)://([A-Za-z0-9.-]+)(?::([0-9]{1,5}))?/?$");
        if (!match.Success) return null;
        var port = XCacheLayout.DefaultXrootPort;
        if (match.Groups[3].Success)
        {
            port = int.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture);
            if (port is < 1 or > 65535) return null;
        }
        return (match.Groups[1].Value, match.Groups[2].Value, port);
    }
}
