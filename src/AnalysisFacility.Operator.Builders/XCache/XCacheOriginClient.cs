using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.Tokens;
using k8s.Models;

namespace AnalysisFacility.Operator.Builders.XCache;

/// <summary>
/// The XRootD client inside the cache (the proxy storage system reads the origin through XrdCl) authenticates with
/// whatever the client finds in its environment: a bearer token through WLCG discovery (BEARER_TOKEN_FILE; the ztn
/// protocol, which XrdCl only uses over TLS) or a GSI proxy through X509_USER_PROXY, and it verifies the origin's TLS
/// certificate against the hashed CA directory X509_CERT_DIR. This type says which file and which directory, for the
/// pod and for a test that runs the same xrootd on loopback.
/// </summary>
public static class XCacheOriginClient
{
    /// <summary>XrdCl's default CA directory, where grid images keep the IGTF bundle.</summary>
    public const string GridCaDirectory = "/etc/grid-security/certificates";
    /// <summary>Where <c>originCredentials.caCertificatesConfigMap</c> is mounted.</summary>
    public const string OriginCaDirectory = "/etc/grid-security/origin-certificates";
    public const string OriginCaVolume = "origin-ca";

    public static OriginCredentialSource SourceOf(XCacheInstanceSpec spec) => spec.OriginCredentials switch
    {
        { X509Proxy: not null } => OriginCredentialSource.X509Proxy,
        { Token.SecretRef: not null } => OriginCredentialSource.TokenSecret,
        { Token.FacilityRef.Length: > 0 } => OriginCredentialSource.FacilityRobotToken,
        _ => OriginCredentialSource.None,
    };

    /// <summary>The Secret the operator keeps the cache's robot token in (key <see cref="TokenDelivery.TokenKey"/>).</summary>
    public static string RobotTokenSecretName(string instanceName) => Names.Object(instanceName, "xcache-origin-token");

    /// <summary>The robot's user name in token requests: its subject is derived from it as for users.</summary>
    public static string RobotUserName(string instanceName) => $"xcache.{instanceName}";

    /// <summary>The robot token's scopes: the configured ones, or reading every exported path.</summary>
    public static IReadOnlyList<string> RobotScopes(XCacheInstanceSpec spec) =>
        spec.OriginCredentials?.Token?.Scopes is { Count: > 0 } scopes ? scopes : [.. spec.ExportedPaths.Select(p => $"storage.read:{p}")];

    /// <summary>The Secret and key the credential is read from, or null when there is none.</summary>
    public static SecretKeyReference? CredentialSecret(XCacheInstance instance) => SourceOf(instance.Spec) switch
    {
        OriginCredentialSource.FacilityRobotToken => new SecretKeyReference { Name = RobotTokenSecretName(instance.Metadata.Name), Key = TokenDelivery.TokenKey },
        OriginCredentialSource.TokenSecret => instance.Spec.OriginCredentials!.Token!.SecretRef,
        OriginCredentialSource.X509Proxy => new SecretKeyReference { Name = instance.Spec.OriginCredentials!.X509Proxy!.SecretName, Key = instance.Spec.OriginCredentials.X509Proxy.Key },
        _ => null,
    };

    /// <summary>
    /// The environment of the cache process for its origin connections. <paramref name="credentialFile"/> is where the
    /// token or proxy is (null: anonymous), <paramref name="caDirectory"/> the hashed CA directory.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Environment(OriginCredentialSource source, string? credentialFile, string caDirectory)
    {
        var env = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["X509_CERT_DIR"] = caDirectory };
        if (credentialFile is null) return env;
        if (source == OriginCredentialSource.X509Proxy) env["X509_USER_PROXY"] = credentialFile;
        else if (source != OriginCredentialSource.None) env["BEARER_TOKEN_FILE"] = credentialFile;
        return env;
    }

    /// <summary>
    /// Adds the credential to the cache pod: the token delivery's init container and sidecar copy it from its Secret
    /// into an in-memory volume owned by the xrootd account, mode 0600 (XrdSecztn and GSI refuse readable-by-others
    /// files, and a Secret volume is group-readable), and keep it current as the Secret changes: xrootd reads the file
    /// again whenever it opens a new connection to the origin, so a renewed credential needs no restart.
    /// </summary>
    public static void AddTo(V1PodSpec pod, V1Container xrootd, XCacheInstance instance)
    {
        var credentials = instance.Spec.OriginCredentials;
        var source = SourceOf(instance.Spec);
        string? file = null;
        if (CredentialSecret(instance) is { } secret)
        {
            var kind = source == OriginCredentialSource.X509Proxy ? DeliveredCredential.X509Proxy : DeliveredCredential.BearerToken;
            var pieces = TokenDelivery.BuildPodPieces(new TokenDeliveryOptions(secret.Name, credentials!.HelperImage,
                XCacheBuilder.XrootdUserId, XCacheBuilder.XrootdUserId, secret.Key, kind));
            TokenDelivery.AddTo(pod, pieces, [xrootd.Name]);
            file = pieces.TokenFile;
        }
        var caDirectory = GridCaDirectory;
        if (credentials?.CaCertificatesConfigMap is { Length: > 0 } caConfigMap)
        {
            caDirectory = OriginCaDirectory;
            pod.Volumes = [.. pod.Volumes ?? [], new V1Volume { Name = OriginCaVolume, ConfigMap = new V1ConfigMapVolumeSource { Name = caConfigMap } }];
            xrootd.VolumeMounts = [.. xrootd.VolumeMounts ?? [], new V1VolumeMount { Name = OriginCaVolume, MountPath = OriginCaDirectory, ReadOnlyProperty = true }];
        }
        if (credentials is null) return;
        var owned = Environment(source, file, caDirectory);
        xrootd.Env = [.. (xrootd.Env ?? []).Where(e => !owned.ContainsKey(e.Name)), .. owned.Select(e => new V1EnvVar { Name = e.Key, Value = e.Value })];
    }
}
