using AnalysisFacility.Operator.Api.V1Alpha1;
using k8s.Models;

namespace AnalysisFacility.Operator.Builders.Sessions;

/// <summary>
/// What the controller has resolved for one session before building it: the pieces that come from other objects
/// (facility status, the session's DaskCluster, the token Secret) rather than from the two specs.
/// </summary>
public sealed record SessionContext
{
    /// <summary>Store directory of the user (see <see cref="SessionStore.ResolveStoreName"/>); null mounts the nobody directory read-only.</summary>
    public string? StoreName { get; init; }

    /// <summary>Addresses of the facility's services as the session pod reaches them.</summary>
    public SessionServiceEndpoints Endpoints { get; init; } = new();

    /// <summary>Scheduler address of the session's DaskCluster (e.g. tls://alice.dask.coffea.casa:8786), when it has one.</summary>
    public string? DaskSchedulerAddress { get; init; }

    /// <summary>
    /// The TLS Secret of the session's DaskCluster (DaskTls: ca.crt, client.crt, client.key) when its scheduler speaks
    /// TLS; the pod mounts the CA and the client pair (never the scheduler's key) and dask.yaml points at them.
    /// </summary>
    public string? DaskTlsSecretName { get; init; }

    /// <summary>Name of the Secret holding the user's token (made by the token builder); handed to the token delivery.</summary>
    public required string TokenSecretName { get; init; }

    /// <summary>ConfigMap key with the CA certificate HTCondor clients verify the schedd's SSL certificate with; the system bundle when null.</summary>
    public ConfigMapKey? CaBundle { get; init; }

    /// <summary>
    /// ConfigMap with the CA that signed the facility XCache's certificate, under its OpenSSL hashed name (made by the
    /// XCache controller); mounted as the XRootD client's X509_CERT_DIR. Optional in the pod: the session starts before the cache.
    /// </summary>
    public string? XCacheCaConfigMap { get; init; }

    /// <summary>The user's Rucio account (resolved by <see cref="SessionRucio.AccountFor"/>) when the facility configures Rucio.</summary>
    public RucioAccount? Rucio { get; init; }
}

/// <summary>A key of a ConfigMap in the session's namespace.</summary>
public sealed record ConfigMapKey(string Name, string Key);

/// <summary>Facility service addresses written into the session's client configuration; null ones are left out.</summary>
public sealed record SessionServiceEndpoints
{
    /// <summary>HTCondor collector host:port.</summary>
    public string? Collector { get; init; }
    /// <summary>HTCondor schedd host (its name in the collector).</summary>
    public string? Schedd { get; init; }
    /// <summary>ServiceX URL.</summary>
    public string? ServiceX { get; init; }
    /// <summary>Triton HTTP URL.</summary>
    public string? Triton { get; init; }
    /// <summary>MLflow tracking URI.</summary>
    public string? Mlflow { get; init; }
    /// <summary>XCache root:// endpoint.</summary>
    public string? XCache { get; init; }
    /// <summary>HTCondor PRIVATE_NETWORK_NAME of an exposed pool, so the session uses pod addresses, not the public one.</summary>
    public string? CondorPrivateNetwork { get; init; }

    /// <summary>The endpoints as the facility controller publishes them in its status.</summary>
    public static SessionServiceEndpoints From(FacilityEndpoints endpoints) => new()
    {
        Collector = endpoints.Collector,
        Schedd = endpoints.Schedd,
        ServiceX = endpoints.ServiceX,
        Triton = endpoints.Triton,
        Mlflow = endpoints.Mlflow,
        XCache = endpoints.XCache,
    };
}

/// <summary>
/// The extension point through which the token builder (Builders/Tokens) puts the user's token into the pod:
/// volumes, environment, init container and refresher sidecar. The session builder only needs to know where the
/// token file ends up, so the HTCondor client can be pointed at it.
/// </summary>
public interface ISessionTokenDelivery
{
    /// <summary>Absolute path of the session token's file inside the notebook container (BEARER_TOKEN_FILE).</summary>
    string TokenFilePath { get; }

    /// <summary>The facility token's file, which HTCondor uses (the schedd trusts the facility's issuer); the session token's unless that is the experiment's.</summary>
    string FacilityTokenFilePath { get; }

    /// <summary>Adds the token pieces to the pod. Called once, after the notebook container is complete.</summary>
    void Decorate(SessionTokenTarget target);
}

/// <summary>Everything the token delivery may need to decorate the pod.</summary>
public sealed record SessionTokenTarget(
    V1PodSpec PodSpec,
    V1Container Notebook,
    string TokenSecretName,
    long RunAsUser,
    long FsGroup,
    string HelperImage);
