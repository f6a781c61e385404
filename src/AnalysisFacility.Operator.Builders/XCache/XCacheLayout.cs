namespace AnalysisFacility.Operator.Builders.XCache;

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
