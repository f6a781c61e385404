using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Dask;
using AnalysisFacility.Operator.Runtime.Client;

namespace AnalysisFacility.Operator.Builders.Sessions;

/// <summary>
/// The client configuration of a session: environment variables (HTCondor, Triton, MLflow, XCache, Dask) and the
/// files dask.yaml and servicex.yaml, all kept in one ConfigMap.
/// </summary>
public sealed record SessionClientConfig(IReadOnlyDictionary<string, string> Environment, string DaskYaml, string? ServiceXYaml)
{
    /// <summary>Variables read from Secrets by secretKeyRef (credentials never go into the ConfigMap).</summary>
    public IReadOnlyList<k8s.Models.V1EnvVar> SecretEnvironment { get; init; } = [];

    /// <summary>$RUCIO_HOME/etc/rucio.cfg when the facility configures Rucio.</summary>
    public string? RucioConfig { get; init; }

    public const string DaskKey = "dask.yaml";
    public const string ServiceXKey = "servicex.yaml";

    /// <summary>Where the ConfigMap's files appear in the notebook container.</summary>
    public const string MountPath = "/etc/analysisfacility/client";
    /// <summary>
    /// The session's Dask configuration directory, given to dask as DASK_CONFIG. Dask reads DASK_ROOT_CONFIG (default
    /// /etc/dask), sys.prefix/etc/dask, ~/.config/dask and then DASK_CONFIG (dask/config.py _get_paths), so the image's own
    /// configuration stays in effect and the session adds its scheduler and TLS files on top. (Replacing DASK_ROOT_CONFIG
    /// would hide the image's files.) DASK_CONFIG comes last, so a user overrides it with DASK_* variables or in code.
    /// </summary>
    public const string DaskDirectory = MountPath + "/dask";
    public const string DaskConfigVariable = "DASK_CONFIG";
    /// <summary>Where the session's Dask TLS files (CA, client certificate and key) are mounted.</summary>
    public const string DaskTlsMountPath = "/etc/analysisfacility/dask-tls";
    /// <summary>
    /// The ServiceX client looks for servicex.yaml from the working directory up to '/', then in the home directory;
    /// a file at the root is therefore found from anywhere while a user's own file still wins.
    /// </summary>
    public const string ServiceXPath = "/servicex.yaml";
    /// <summary>Where the CA bundle for HTCondor's SSL (used to protect the token exchange) is mounted.</summary>
    public const string CaMountPath = "/etc/analysisfacility/ca";
    public const string SystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

    public static SessionClientConfig Build(AnalysisFacilitySpec facility, SessionContext context, string tokenFilePath, string facilityTokenFilePath)
    {
        var env = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var endpoints = context.Endpoints;

        if (facility.HTCondor.Enabled && endpoints.Collector is not null)
        {
            env["_condor_COLLECTOR_HOST"] = endpoints.Collector;
            if (endpoints.Schedd is not null) env["_condor_SCHEDD_HOST"] = endpoints.Schedd;
            env["_condor_SEC_DEFAULT_AUTHENTICATION_METHODS"] = "SCITOKENS";
            env["_condor_SCITOKENS_FILE"] = facilityTokenFilePath;
            env["_condor_AUTH_SSL_CLIENT_CAFILE"] = context.CaBundle is null ? SystemCaBundle : $"{CaMountPath}/ca.crt";
            if (endpoints.CondorPrivateNetwork is not null) env["_condor_PRIVATE_NETWORK_NAME"] = endpoints.CondorPrivateNetwork;
        }

        var bucket = facility.Triton.ModelRepository;
        if (facility.Triton.Enabled)
        {
            if (endpoints.Triton is not null) env["TRITON_URL"] = endpoints.Triton;
            if (bucket is not null)
            {
                env["TRITON_BUCKET_HOST"] = bucket.Host;
                env["TRITON_BUCKET_PORT"] = bucket.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
                env["TRITON_BUCKET_NAME"] = bucket.Bucket;
            }
        }
        if (facility.Mlflow.Enabled && endpoints.Mlflow is not null) env["MLFLOW_TRACKING_URI"] = endpoints.Mlflow;
        if (endpoints.XCache is not null) env["XCACHE_ENDPOINT"] = endpoints.XCache;
        // XrdCl verifies a TLS server only against the hashed directory X509_CERT_DIR names (no CA-file setting).
        if (context.XCacheCaConfigMap is not null) env["X509_CERT_DIR"] = SessionCaDirectory.CertificateDirectory;
        if (endpoints.ServiceX is not null) env["SERVICEX_ENDPOINT"] = endpoints.ServiceX;
        env[DaskConfigVariable] = DaskDirectory;
        string? rucio = null;
        if (facility.Rucio.Enabled && SessionRucio.Validate(facility.Rucio).Count == 0)
        {
            env["RUCIO_HOME"] = SessionRucio.Home;
            rucio = SessionRucio.Render(facility.Rucio, context.Rucio?.Account, tokenFilePath);
        }

        var serviceX = facility.ServiceX.Enabled && endpoints.ServiceX is not null ? ServiceXYamlFor(endpoints.ServiceX) : null;
        return new SessionClientConfig(env, DaskYamlFor(facility.Dask, context.DaskSchedulerAddress, context.DaskTlsSecretName is not null), serviceX)
        {
            SecretEnvironment = [.. Facility.TritonBuilder.UserCredentialEnvironment(facility)],
            RucioConfig = rucio,
        };
    }

    /// <summary>
    /// Dask configuration: "scheduler-address" makes a bare distributed.Client() connect to the session's cluster, and
    /// for a tls:// scheduler distributed.comm.tls names the CA and client key pair the pod mounts (distributed's
    /// Security() reads them when no security is passed); the analysisfacility section tells notebooks and tools what
    /// workers the facility runs.
    /// </summary>
    private static string DaskYamlFor(DaskDefaults dask, string? schedulerAddress, bool tls)
    {
        var document = new Dictionary<string, object>();
        if (schedulerAddress is not null) document["scheduler-address"] = schedulerAddress;
        if (tls)
        {
            document["distributed"] = new Dictionary<string, object>
            {
                ["comm"] = new Dictionary<string, object>
                {
                    ["tls"] = new Dictionary<string, object>
                    {
                        ["ca-file"] = $"{DaskTlsMountPath}/{DaskTls.CaCertificateKey}",
                        ["client"] = new Dictionary<string, object>
                        {
                            ["cert"] = $"{DaskTlsMountPath}/{DaskTls.ClientCertificateKey}",
                            ["key"] = $"{DaskTlsMountPath}/{DaskTls.ClientPrivateKeyKey}",
                        },
                    },
                },
            };
        }
        document["analysisfacility"] = new Dictionary<string, object>
        {
            ["worker"] = new Dictionary<string, object>
            {
                ["image"] = dask.WorkerImage,
                ["cores"] = dask.WorkerCores,
                ["memory"] = dask.WorkerMemory,
            },
            ["max-workers"] = dask.MaxWorkersPerCluster,
        };
        return Serialize(document);
    }

    /// <summary>
    /// servicex.yaml as the ServiceX client reads it (servicex/configuration.py: api_endpoints of name, endpoint and an
    /// optional token; default_endpoint): one endpoint, made the default, and no token. The client sends the token in
    /// BEARER_TOKEN_FILE, re-read when the one it holds is within a minute of expiry (servicex_adapter.py
    /// _get_bearer_token_file, _get_authorization), so the session's refreshed facility token is what the gateway sees.
    /// </summary>
    private static string ServiceXYamlFor(string endpoint)
    {
        const string name = "analysisfacility";
        var document = new Dictionary<string, object>
        {
            ["api_endpoints"] = new List<object> { new Dictionary<string, object> { ["name"] = name, ["endpoint"] = endpoint } },
            ["default_endpoint"] = name,
        };
        return Serialize(document);
    }

    // No serializer object: PlainYaml emits the tree directly (the regular expression it quotes with is compiled at build time).
    private static string Serialize(object document) => PlainYaml.Serialize(document);
}
