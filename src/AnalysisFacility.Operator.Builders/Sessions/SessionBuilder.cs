using AnalysisFacility.Operator.Api.V1Alpha1;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.Dask;
using k8s;
using k8s.Models;

namespace AnalysisFacility.Operator.Builders.Sessions;

/// <summary>The objects that make up one session (the token Secret and the DaskCluster are built elsewhere).</summary>
public sealed record SessionObjects(
    V1Pod Pod,
    V1Service Service,
    V1ConfigMap ClientConfig,
    V1ServiceAccount ServiceAccount,
    V1NetworkPolicy? NetworkPolicy,
    ResolvedSessionProfile Profile,
    SessionStorePlacement Store)
{
    /// <summary>Everything to apply, in an order that lets the pod start at once (its references exist first).</summary>
    public IEnumerable<IKubernetesObject<V1ObjectMeta>> All()
    {
        yield return ServiceAccount;
        yield return ClientConfig;
        if (NetworkPolicy is not null) yield return NetworkPolicy;
        yield return Service;
        yield return Pod;
    }
}

/// <summary>Which store directory the pod mounts: the user's own, the nobody directory read-only, or none (store disabled).</summary>
public sealed record SessionStorePlacement(bool Enabled, string? Directory, bool ReadOnly);

/// <summary>Either the session's objects or the reasons they cannot be built.</summary>
public sealed record SessionBuildResult(SessionObjects? Objects, IReadOnlyList<string> Errors)
{
    public bool Succeeded => Objects is not null;
}

/// <summary>
/// Builds a UserSession's notebook pod, Service, client ConfigMap, ServiceAccount and NetworkPolicy. Pure: the
/// same inputs give the same objects. The user's token is put into the pod by <see cref="ISessionTokenDelivery"/>.
/// </summary>
public sealed class SessionBuilder(ISessionTokenDelivery tokenDelivery)
{
    public const string Application = "usersession";

    /// <summary>
    /// "External" egress is everything outside the private ranges (RFC 1918, RFC 6598, IPv6 ULA), which hold the pod,
    /// Service and node ranges of every common CNI default. Kubernetes 1.20 publishes no cluster CIDRs to read, so a
    /// per-site setting would be a guess an admin has to keep in step; a cluster on public pod ranges is not supported.
    /// </summary>
    public static readonly IReadOnlyList<string> PrivateRanges = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"];
    public const string NotebookComponent = "notebook";
    public const string NotebookContainer = "notebook";
    public const int NotebookPort = 8888;
    public const string StoreVolume = "user-store";
    public const string ClientConfigVolume = "client-config";
    public const string CaVolume = "ca-bundle";
    public const string DaskTlsVolume = "dask-tls";
    /// <summary>Hash of the session fields the pod is made from: when it changes, the user asked for a different server.</summary>
    public const string SessionSpecHashAnnotation = "analysisfacility.io/session-spec-hash";
    /// <summary>Hash of the client environment the container starts with (environment variables are read once, at start).</summary>
    public const string ClientEnvironmentHashAnnotation = "analysisfacility.io/client-environment-hash";

    public SessionBuildResult Build(UserSession session, FacilityResource? facility, SessionContext context)
    {
        var errors = SessionValidation.Validate(session, facility);
        if (errors.Count > 0 || facility is null) return new SessionBuildResult(null, errors);
        SessionValidation.ValidateStoreName(context.StoreName, errors);
        var profile = SessionProfiles.Resolve(session.Spec, facility.Spec, errors);
        if (profile is not null) SessionContradictions.Check(session, facility, profile, errors);
        if (errors.Count > 0 || profile is null) return new SessionBuildResult(null, errors);

        var sessionName = session.Metadata.Name;
        var ns = session.Metadata.NamespaceProperty;
        var facilityName = facility.Metadata.Name;
        var labels = LabelsFor(sessionName, facilityName, session.Spec.User.Name);
        var serverName = SessionNames.Server(sessionName);
        var store = PlacementFor(facility.Spec.UserStore, context.StoreName);
        var clientConfig = SessionClientConfig.Build(facility.Spec, context, tokenDelivery.TokenFilePath, tokenDelivery.FacilityTokenFilePath);

        var configMap = new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = Meta(SessionNames.ClientConfig(sessionName), ns, labels),
            Data = BuildConfigMapData(clientConfig),
        };
        var serviceAccount = new V1ServiceAccount
        {
            ApiVersion = "v1",
            Kind = "ServiceAccount",
            Metadata = Meta(serverName, ns, labels),
            // The notebook never talks to the Kubernetes API: no credentials to steal or misuse.
            AutomountServiceAccountToken = false,
        };
        var pod = BuildPod(session, facility, context, profile, store, clientConfig, serverName, configMap.Metadata.Name, labels);
        var service = new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = Meta(serverName, ns, labels),
            Spec = new V1ServiceSpec
            {
                Type = "ClusterIP",
                Selector = Selector(sessionName),
                Ports = [new V1ServicePort { Name = "http", Port = NotebookPort, TargetPort = "http", Protocol = "TCP" }],
            },
        };
        var networkPolicy = facility.Spec.Sessions.NetworkPolicy
            ? BuildNetworkPolicy(sessionName, serverName, ns, facilityName, labels, context)
            : null;
        return new SessionBuildResult(new SessionObjects(pod, service, configMap, serviceAccount, networkPolicy, profile, store), []);
    }

    /// <summary>Selector labels of a session's notebook pod.</summary>
    public static Dictionary<string, string> Selector(string sessionName) =>
        Labels.Selector(Application, sessionName, NotebookComponent);

    private static Dictionary<string, string> LabelsFor(string sessionName, string facilityName, string userName)
    {
        var labels = Labels.For(Application, sessionName, NotebookComponent, facilityName);
        labels[Labels.User] = Labels.SafeValue(userName);
        return labels;
    }

    private static V1ObjectMeta Meta(string name, string ns, Dictionary<string, string> labels) =>
        new() { Name = name, NamespaceProperty = ns, Labels = new Dictionary<string, string>(labels) };

    private static SessionStorePlacement PlacementFor(UserStoreSpec store, string? storeName) =>
        !store.Enabled ? new SessionStorePlacement(false, null, false)
        : storeName is null ? new SessionStorePlacement(true, store.NobodyDirectory, true)
        : new SessionStorePlacement(true, storeName, false);

    private static Dictionary<string, string> BuildConfigMapData(SessionClientConfig config)
    {
        var data = new Dictionary<string, string>(config.Environment) { [SessionClientConfig.DaskKey] = config.DaskYaml };
        if (config.ServiceXYaml is not null) data[SessionClientConfig.ServiceXKey] = config.ServiceXYaml;
        if (config.RucioConfig is not null) data[SessionRucio.ConfigKey] = config.RucioConfig;
        return data;
    }

    private V1Pod BuildPod(UserSession session, FacilityResource facility, SessionContext context, ResolvedSessionProfile profile,
        SessionStorePlacement store, SessionClientConfig clientConfig, string serverName, string configMapName, Dictionary<string, string> labels)
    {
        var defaults = facility.Spec.Sessions;
        var volumes = new List<V1Volume>();
        var mounts = new List<V1VolumeMount>();

        if (store.Enabled)
        {
            // As in Coffea-casa's spawner hook: only the user's own directory of the shared claim is visible.
            volumes.Add(new V1Volume
            {
                Name = StoreVolume,
                PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource
                {
                    ClaimName = facility.Spec.UserStore.ClaimName,
                    ReadOnlyProperty = store.ReadOnly ? true : null,
                },
            });
            mounts.Add(new V1VolumeMount
            {
                Name = StoreVolume,
                MountPath = facility.Spec.UserStore.MountPath,
                SubPath = store.Directory,
                ReadOnlyProperty = store.ReadOnly ? true : null,
            });
        }

        var items = new List<V1KeyToPath> { new() { Key = SessionClientConfig.DaskKey, Path = "dask/analysisfacility.yaml" } };
        if (clientConfig.ServiceXYaml is not null)
        {
            items.Add(new V1KeyToPath { Key = SessionClientConfig.ServiceXKey, Path = "servicex/servicex.yaml" });
        }
        if (clientConfig.RucioConfig is not null) items.Add(new V1KeyToPath { Key = SessionRucio.ConfigKey, Path = "rucio/etc/rucio.cfg" });
        volumes.Add(new V1Volume { Name = ClientConfigVolume, ConfigMap = new V1ConfigMapVolumeSource { Name = configMapName, Items = items } });
        mounts.Add(new V1VolumeMount { Name = ClientConfigVolume, MountPath = SessionClientConfig.MountPath, ReadOnlyProperty = true });
        if (clientConfig.ServiceXYaml is not null)
        {
            mounts.Add(new V1VolumeMount
            {
                Name = ClientConfigVolume,
                MountPath = SessionClientConfig.ServiceXPath,
                SubPath = "servicex/servicex.yaml",
                ReadOnlyProperty = true,
            });
        }
        if (context.CaBundle is { } ca)
        {
            volumes.Add(new V1Volume
            {
                Name = CaVolume,
                ConfigMap = new V1ConfigMapVolumeSource { Name = ca.Name, Items = [new V1KeyToPath { Key = ca.Key, Path = "ca.crt" }] },
            });
            mounts.Add(new V1VolumeMount { Name = CaVolume, MountPath = SessionClientConfig.CaMountPath, ReadOnlyProperty = true });
        }

        if (context.DaskTlsSecretName is { } daskTls)
        {
            // The client's half of the cluster's TLS Secret only: the scheduler's private key stays with the scheduler.
            volumes.Add(new V1Volume
            {
                Name = DaskTlsVolume,
                Secret = new V1SecretVolumeSource
                {
                    SecretName = daskTls,
                    Items = [.. new[] { DaskTls.CaCertificateKey, DaskTls.ClientCertificateKey, DaskTls.ClientPrivateKeyKey }
                        .Select(key => new V1KeyToPath { Key = key, Path = key })],
                    DefaultMode = 0x124, // 0444: whatever uid the notebook image runs as can read them
                    // The notebook does not wait for its Dask cluster: the kubelet fills the files in once the Secret exists.
                    Optional = true,
                },
            });
            mounts.Add(new V1VolumeMount { Name = DaskTlsVolume, MountPath = SessionClientConfig.DaskTlsMountPath, ReadOnlyProperty = true });
        }

        var env = clientConfig.Environment.Keys
            .Select(key => new V1EnvVar
            {
                Name = key,
                ValueFrom = new V1EnvVarSource { ConfigMapKeyRef = new V1ConfigMapKeySelector { Name = configMapName, Key = key } },
            })
            .ToList();
        env.AddRange(clientConfig.SecretEnvironment);
        if (store.Enabled)
        {
            env.Add(new V1EnvVar { Name = "ANALYSISFACILITY_STORE", Value = facility.Spec.UserStore.MountPath });
        }

        var limits = new Dictionary<string, ResourceQuantity>
        {
            ["cpu"] = new(profile.Cores),
            ["memory"] = new(profile.Memory),
        };
        if (profile.Gpus > 0) limits["nvidia.com/gpu"] = new ResourceQuantity(profile.Gpus.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var notebook = new V1Container
        {
            Name = NotebookContainer,
            Image = profile.Image,
            Command = ["jupyterhub-singleuser"],
            Args = ["--ip=0.0.0.0", $"--port={NotebookPort}"],
            Ports = [new V1ContainerPort { Name = "http", ContainerPort = NotebookPort, Protocol = "TCP" }],
            Env = env,
            EnvFrom = session.Spec.HubEnvSecretName is null
                ? null
                : [new V1EnvFromSource { SecretRef = new V1SecretEnvSource { Name = session.Spec.HubEnvSecretName } }],
            // Requests equal limits: a notebook gets what its profile promises and no more.
            Resources = new V1ResourceRequirements
            {
                Requests = new Dictionary<string, ResourceQuantity>(limits),
                Limits = limits,
            },
            VolumeMounts = mounts,
            // A TCP probe: the HTTP path depends on the hub's URL prefix for the user, which only the hub knows.
            ReadinessProbe = new V1Probe
            {
                TcpSocket = new V1TCPSocketAction { Port = "http" },
                InitialDelaySeconds = 1,
                PeriodSeconds = 2,
                FailureThreshold = 3,
            },
            SecurityContext = new V1SecurityContext
            {
                RunAsNonRoot = true,
                RunAsUser = defaults.RunAsUser,
                AllowPrivilegeEscalation = false,
                Capabilities = new V1Capabilities { Drop = ["ALL"] },
                SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
            },
        };

        var podSpec = new V1PodSpec
        {
            ServiceAccountName = serverName,
            AutomountServiceAccountToken = false,
            // Service links would put every Service of the namespace into the environment.
            EnableServiceLinks = false,
            // A server shut down from the notebook UI stays stopped; a crash is restarted.
            RestartPolicy = "OnFailure",
            SecurityContext = new V1PodSecurityContext
            {
                RunAsNonRoot = true,
                RunAsUser = defaults.RunAsUser,
                FsGroup = defaults.FsGroup,
                // Never walk a large store recursively to change group ownership on every start.
                FsGroupChangePolicy = "OnRootMismatch",
                SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
            },
            Containers = [notebook],
            Volumes = volumes,
        };

        if (context.XCacheCaConfigMap is { } xcacheCa) SessionCaDirectory.AddTo(podSpec, notebook, xcacheCa);
        if (store.Enabled) SessionStoreWait.AddTo(podSpec, StoreVolume, defaults.TokenHelperImage, defaults.RunAsUser);
        if (facility.Spec.Cvmfs.Enabled) SessionCvmfs.AddTo(podSpec, facility.Metadata.Name, [notebook]);
        tokenDelivery.Decorate(new SessionTokenTarget(podSpec, notebook, context.TokenSecretName,
            defaults.RunAsUser, defaults.FsGroup, defaults.TokenHelperImage));

        var metadata = Meta(serverName, session.Metadata.NamespaceProperty, labels);
        metadata.Annotations = new Dictionary<string, string>
        {
            [SessionSpecHashAnnotation] = SessionSpecHash(session.Spec),
            [ClientEnvironmentHashAnnotation] = Hashes.Of(clientConfig.Environment.OrderBy(e => e.Key, StringComparer.Ordinal)
                .Select(e => $"{e.Key}={e.Value}")),
        };
        return new V1Pod { ApiVersion = "v1", Kind = "Pod", Metadata = metadata, Spec = podSpec };
    }

    /// <summary>
    /// Hash of what a session's owner chooses about the server: facility, user identity, profile and overrides, store
    /// and hub environment (not groups, ttl or Dask, which never reach the pod spec).
    /// </summary>
    public static string SessionSpecHash(UserSessionSpec spec) => Hashes.Of(
    [
        spec.FacilityRef, spec.User.Name, spec.User.Email ?? "", spec.Profile ?? "", spec.Image ?? "", spec.Cores ?? "",
        spec.Memory ?? "", spec.Gpus?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "", spec.StoreName ?? "",
        spec.HubEnvSecretName ?? "",
    ]);

    private static V1NetworkPolicy BuildNetworkPolicy(string sessionName, string name, string ns, string facilityName,
        Dictionary<string, string> labels, SessionContext context)
    {
        // The hub pods, the only ones allowed to reach the notebook server.
        var hubSelector = new Dictionary<string, string> { [Labels.Facility] = facilityName, [Labels.Component] = "hub" };

        // The facility's own pods (hub, HTCondor, ServiceX, Dask, ...) but not other users' notebooks.
        var facilityServices = new V1NetworkPolicyPeer
        {
            PodSelector = new V1LabelSelector
            {
                MatchLabels = new Dictionary<string, string> { [Labels.Facility] = facilityName },
                MatchExpressions =
                [
                    new V1LabelSelectorRequirement { Key = Labels.Component, OperatorProperty = "NotIn", Values = [NotebookComponent] },
                ],
            },
        };
        var ipv4 = PrivateRanges.Where(c => !c.Contains(':')).ToList();
        var ipv6 = PrivateRanges.Where(c => c.Contains(':')).ToList();
        var external = new List<V1NetworkPolicyPeer>
        {
            new() { IpBlock = new V1IPBlock { Cidr = "0.0.0.0/0", Except = ipv4.Count > 0 ? ipv4 : null } },
            new() { IpBlock = new V1IPBlock { Cidr = "::/0", Except = ipv6.Count > 0 ? ipv6 : null } },
        };

        var egress = new List<V1NetworkPolicyEgressRule>
        {
            new() { To = [facilityServices] },
            // DNS wherever the cluster runs it (kube-dns pods, node-local caches).
            new()
            {
                Ports =
                [
                    new V1NetworkPolicyPort { Protocol = "UDP", Port = 53 },
                    new V1NetworkPolicyPort { Protocol = "TCP", Port = 53 },
                ],
            },
            new() { To = external },
        };

        return new V1NetworkPolicy
        {
            ApiVersion = "networking.k8s.io/v1",
            Kind = "NetworkPolicy",
            Metadata = Meta(name, ns, labels),
            Spec = new V1NetworkPolicySpec
            {
                PodSelector = new V1LabelSelector { MatchLabels = Selector(sessionName) },
                PolicyTypes = ["Ingress", "Egress"],
                Ingress =
                [
                    new V1NetworkPolicyIngressRule
                    {
                        FromProperty = [new V1NetworkPolicyPeer { PodSelector = new V1LabelSelector { MatchLabels = hubSelector } }],
                        Ports = [new V1NetworkPolicyPort { Protocol = "TCP", Port = NotebookPort }],
                    },
                ],
                Egress = egress,
            },
        };
    }
}
