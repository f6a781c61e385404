using System.Globalization;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Common;
using k8s.Models;

namespace AnalysisFacility.Operator.Builders.XCache;

/// <summary>The Kubernetes objects of one XCacheInstance.</summary>
public sealed record XCacheResources(
    V1ConfigMap ConfigMap,
    V1StatefulSet StatefulSet,
    V1Service HeadlessService,
    V1Service ClientService,
    string Endpoint,
    string? TlsSecretName)
{
    public IEnumerable<k8s.IKubernetesObject<V1ObjectMeta>> All => [ConfigMap, HeadlessService, ClientService, StatefulSet];
}

/// <summary>Either the objects or the reasons the spec cannot be built.</summary>
public sealed record XCacheBuildResult(XCacheResources? Resources, IReadOnlyList<string> Errors)
{
    public bool Succeeded => Resources is not null;
}

/// <summary>
/// Builds the desired objects of an XCacheInstance: a ConfigMap with the generated xrootd and scitokens
/// configuration, a StatefulSet with one cache PVC per replica, a headless Service for the pods' stable names
/// and a client Service (xroot 1094, HTTP when set).
/// </summary>
public static class XCacheBuilder
{
    public const string Application = "xcache";
    public const string Component = "cache";
    public const string ContainerName = "xrootd";
    public const string CacheVolumeName = "cache";
    public const string ConfigHashAnnotation = "analysisfacility.io/config-hash";
    /// <summary>The xrootd account of the OSG XCache images (fixed UID/GID 10940).</summary>
    public const long XrootdUserId = 10940;

    public static string ObjectName(XCacheInstance instance) => ObjectName(instance.Metadata.Name);
    public static string ObjectName(string instanceName) => Names.Object(instanceName, "xcache");

    /// <summary>The root:// endpoint clients in the cluster use for an XCacheInstance (its client Service).</summary>
    public static string Endpoint(string instanceName, string @namespace) =>
        $"root://{ObjectName(instanceName)}.{@namespace}.svc:{XCacheLayout.DefaultXrootPort.ToString(CultureInfo.InvariantCulture)}";
    public static string HeadlessServiceName(XCacheInstance instance) => Names.Object(instance.Metadata.Name, "xcache-pods");

    /// <summary>
    /// With token authorization the cache serves TLS (the ztn protocol needs it). The controller creates this
    /// kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt) for the client and headless Service names.
    /// </summary>
    public static string TlsSecretName(XCacheInstance instance) => Names.Object(instance.Metadata.Name, "xcache-tls");

    /// <summary>
    /// Builds the objects, or returns the validation errors. <paramref name="facilityIssuer"/> is required when
    /// spec.authorization.facilityRef is used (the controller resolves it from the AnalysisFacility).
    /// </summary>
    public static XCacheBuildResult Build(XCacheInstance instance, XCacheIssuerSettings? facilityIssuer = null)
    {
        var errors = XCacheValidator.Validate(instance, facilityIssuer);
        if (errors.Count > 0) return new XCacheBuildResult(null, errors);

        var spec = instance.Spec;
        var name = instance.Metadata.Name;
        var ns = instance.Metadata.NamespaceProperty;
        var facility = spec.Authorization?.FacilityRef ?? "";
        var labels = Labels.For(Application, name, Component, facility);
        var selector = Labels.Selector(Application, name, Component);

        var settings = XCacheSettings.FromSpec(spec, facilityIssuer);
        var layout = XCacheLayout.Pod(spec.HttpPort);
        var data = new Dictionary<string, string>
        {
            [XCacheLayout.XrootdConfigFile] = XCacheConfig.RenderXrootd(settings, layout),
        };
        if (settings.Tokens is not null) data[XCacheLayout.ScitokensConfigFile] = XCacheConfig.RenderScitokens(settings.Tokens);

        var objectName = ObjectName(instance);
        var configMap = new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = V1ConfigMap.KubeKind,
            Metadata = Metadata(objectName, ns, labels),
            Data = data,
        };

        var ports = new List<V1ServicePort> { new() { Name = "xroot", Port = XCacheLayout.DefaultXrootPort, TargetPort = "xroot", Protocol = "TCP" } };
        if (spec.HttpPort is { } httpPort) ports.Add(new V1ServicePort { Name = "http", Port = httpPort, TargetPort = "http", Protocol = "TCP" });

        var headless = new V1Service
        {
            ApiVersion = "v1",
            Kind = V1Service.KubeKind,
            Metadata = Metadata(HeadlessServiceName(instance), ns, labels),
            Spec = new V1ServiceSpec
            {
                ClusterIP = "None",
                Selector = selector,
                Ports = ports,
                PublishNotReadyAddresses = false,
            },
        };
        var client = new V1Service
        {
            ApiVersion = "v1",
            Kind = V1Service.KubeKind,
            Metadata = Metadata(objectName, ns, labels),
            Spec = new V1ServiceSpec
            {
                Type = "ClusterIP",
                Selector = selector,
                Ports = ports.Select(p => new V1ServicePort { Name = p.Name, Port = p.Port, TargetPort = p.TargetPort, Protocol = p.Protocol }).ToList(),
            },
        };

        var tlsSecret = settings.Tokens is null ? null : TlsSecretName(instance);
        var caBundle = spec.Authorization is { FacilityRef.Length: > 0 } ? facilityIssuer?.CaBundleConfigMap : null;
        var statefulSet = BuildStatefulSet(instance, objectName, labels, selector, configMap, layout, tlsSecret, caBundle);
        var endpoint = Endpoint(instance.Metadata.Name, ns);
        return new XCacheBuildResult(new XCacheResources(configMap, statefulSet, headless, client, endpoint, tlsSecret), []);
    }

    private static V1StatefulSet BuildStatefulSet(XCacheInstance instance, string objectName, Dictionary<string, string> labels,
        Dictionary<string, string> selector, V1ConfigMap configMap, XCacheLayout layout, string? tlsSecret, string? caBundleConfigMap)
    {
        var spec = instance.Spec;
        var containerPorts = new List<V1ContainerPort> { new() { Name = "xroot", ContainerPort = layout.XrootPort, Protocol = "TCP" } };
        if (layout.HttpPort is { } httpPort) containerPorts.Add(new V1ContainerPort { Name = "http", ContainerPort = httpPort, Protocol = "TCP" });

        var mounts = new List<V1VolumeMount>
        {
            new() { Name = "config", MountPath = XCacheLayout.ConfigDirectory, ReadOnlyProperty = true },
            new() { Name = CacheVolumeName, MountPath = XCacheLayout.CacheMountPath },
            new() { Name = "run", MountPath = XCacheLayout.RunDirectory },
        };
        var volumes = new List<V1Volume>
        {
            new() { Name = "config", ConfigMap = new V1ConfigMapVolumeSource { Name = configMap.Metadata.Name } },
            new() { Name = "run", EmptyDir = new V1EmptyDirVolumeSource() },
        };
        if (tlsSecret is not null)
        {
            mounts.Add(new V1VolumeMount { Name = "tls", MountPath = XCacheLayout.TlsDirectory, ReadOnlyProperty = true });
            // 0440 with fsGroup: readable by the xrootd group only.
            volumes.Add(new V1Volume { Name = "tls", Secret = new V1SecretVolumeSource { SecretName = tlsSecret, DefaultMode = Convert.ToInt32("440", 8) } });
        }

        // The PVC starts empty: create the cache directories before xrootd starts; logs go to stderr (kubectl logs).
        var copyKey = tlsSecret is null ? "" :
            // rm first: a restarted container finds its earlier 0400 copy, which even its owner cannot open for writing.
            $"rm -f {XCacheLayout.PrivateKeyCopyPath} && (umask 077 && cat {XCacheLayout.PrivateKeySecretPath} > {XCacheLayout.PrivateKeyCopyPath}) && ";
        var startup = $"mkdir -p {string.Join(' ', layout.DirectoriesToCreate)} && " + copyKey +
            $"exec xrootd -c {XCacheLayout.ConfigDirectory}/{XCacheLayout.XrootdConfigFile}";

        var container = new V1Container
        {
            Name = ContainerName,
            Image = spec.Image,
            Command = ["/bin/sh", "-c", startup],
            Ports = containerPorts,
            // scitokens-cpp keeps its issuer key cache under XDG_CACHE_HOME; the image's home may not be writable.
            Env = [new V1EnvVar { Name = "XDG_CACHE_HOME", Value = XCacheLayout.RunDirectory + "/cache" }],
            VolumeMounts = mounts,
            Resources = Resources(spec.Resources),
            ReadinessProbe = new V1Probe
            {
                TcpSocket = new V1TCPSocketAction { Port = "xroot" },
                InitialDelaySeconds = 5,
                PeriodSeconds = 10,
                FailureThreshold = 3,
            },
            LivenessProbe = new V1Probe
            {
                TcpSocket = new V1TCPSocketAction { Port = "xroot" },
                InitialDelaySeconds = 30,
                PeriodSeconds = 20,
                FailureThreshold = 3,
            },
            SecurityContext = new V1SecurityContext
            {
                RunAsNonRoot = true,
                AllowPrivilegeEscalation = false,
                Capabilities = new V1Capabilities { Drop = ["ALL"] },
            },
        };

        var podSpec = new V1PodSpec
        {
            Containers = [container],
            Volumes = volumes,
            SecurityContext = new V1PodSecurityContext
            {
                RunAsNonRoot = true,
                RunAsUser = XrootdUserId,
                RunAsGroup = XrootdUserId,
                FsGroup = XrootdUserId,
                SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
            },
            TerminationGracePeriodSeconds = 30,
        };
        XCacheOriginClient.AddTo(podSpec, container, instance);
        if (caBundleConfigMap is not null) XCacheIssuerTrust.AddTo(podSpec, container, caBundleConfigMap);

        var claim = new V1PersistentVolumeClaim
        {
            ApiVersion = "v1",
            Kind = V1PersistentVolumeClaim.KubeKind,
            Metadata = new V1ObjectMeta { Name = CacheVolumeName, Labels = new Dictionary<string, string>(labels) },
            Spec = new V1PersistentVolumeClaimSpec
            {
                AccessModes = ["ReadWriteOnce"],
                StorageClassName = spec.StorageClassName,
                Resources = new V1VolumeResourceRequirements
                {
                    Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new ResourceQuantity(spec.CacheSize) },
                },
            },
        };

        return new V1StatefulSet
        {
            ApiVersion = "apps/v1",
            Kind = V1StatefulSet.KubeKind,
            Metadata = Metadata(objectName, instance.Metadata.NamespaceProperty, labels),
            Spec = new V1StatefulSetSpec
            {
                Replicas = spec.Replicas,
                ServiceName = HeadlessServiceName(instance),
                // Cache servers are independent of each other: start and stop them together.
                PodManagementPolicy = "Parallel",
                Selector = new V1LabelSelector { MatchLabels = selector },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta
                    {
                        Labels = new Dictionary<string, string>(labels),
                        // A new configuration must restart the servers: xrootd reads its config only at start.
                        Annotations = new Dictionary<string, string> { [ConfigHashAnnotation] = Hash(configMap.Data) },
                    },
                    Spec = podSpec,
                },
                VolumeClaimTemplates = [claim],
            },
        };
    }

    private static V1ResourceRequirements? Resources(ComputeResources? resources)
    {
        if (resources is null || (resources.Cpu is null && resources.Memory is null)) return null;
        var amounts = new Dictionary<string, ResourceQuantity>();
        if (resources.Cpu is { } cpu) amounts["cpu"] = new ResourceQuantity(cpu);
        if (resources.Memory is { } memory) amounts["memory"] = new ResourceQuantity(memory);
        return new V1ResourceRequirements
        {
            Requests = new Dictionary<string, ResourceQuantity>(amounts),
            Limits = new Dictionary<string, ResourceQuantity>(amounts),
        };
    }

    private static V1ObjectMeta Metadata(string name, string ns, Dictionary<string, string> labels) => new()
    {
        Name = name,
        NamespaceProperty = ns,
        Labels = new Dictionary<string, string>(labels),
    };

    private static string Hash(IDictionary<string, string> data)
    {
        var text = string.Join("\n", data.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + p.Value));
        return Hashes.Of(text);
    }
}
