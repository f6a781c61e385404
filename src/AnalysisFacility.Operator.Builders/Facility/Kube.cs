using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Common;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Builders.Facility;

/// <summary>Small constructors for the Kubernetes objects the facility builders share.</summary>
internal sealed class Kube(FacilityResource facility, string application, string component)
{
    public string Facility { get; } = facility.Metadata.Name;
    public string Namespace { get; } = facility.Metadata.NamespaceProperty;

    public Dictionary<string, string> Labels() => Common.Labels.For(application, Facility, component, Facility);
    public Dictionary<string, string> Selector() => Common.Labels.Selector(application, Facility, component);

    public V1ObjectMeta Meta(string name) => new() { Name = name, NamespaceProperty = Namespace, Labels = Labels() };

    /// <summary>In-cluster DNS name of a Service of this facility.</summary>
    public string ServiceHost(string serviceName) => $"{serviceName}.{Namespace}.svc";

    public V1ConfigMap ConfigMap(string name, IDictionary<string, string> data) => new()
    {
        ApiVersion = "v1", Kind = "ConfigMap", Metadata = Meta(name), Data = data,
    };

    public V1Secret Secret(string name, IDictionary<string, byte[]> data) => new()
    {
        ApiVersion = "v1", Kind = "Secret", Metadata = Meta(name), Type = "Opaque", Data = data,
    };

    public V1Service Service(string name, params V1ServicePort[] ports) => new()
    {
        ApiVersion = "v1", Kind = "Service", Metadata = Meta(name),
        Spec = new V1ServiceSpec { Type = "ClusterIP", Selector = Selector(), Ports = ports },
    };

    public static V1ServicePort Port(string name, int port, int? targetPort = null) =>
        new() { Name = name, Port = port, TargetPort = targetPort ?? port, Protocol = "TCP" };

    public V1PodTemplateSpec Template(V1PodSpec spec, IDictionary<string, string>? annotations = null) => new()
    {
        Metadata = new V1ObjectMeta { Labels = Labels(), Annotations = annotations },
        Spec = spec,
    };

    public V1Deployment Deployment(string name, int replicas, V1PodSpec pod, bool recreate = false, IDictionary<string, string>? podAnnotations = null) => new()
    {
        ApiVersion = "apps/v1", Kind = "Deployment", Metadata = Meta(name),
        Spec = new V1DeploymentSpec
        {
            Replicas = replicas,
            Selector = new V1LabelSelector { MatchLabels = Selector() },
            Template = Template(pod, podAnnotations),
            // RWO volumes cannot be attached to an old and a new pod at once.
            Strategy = recreate ? new V1DeploymentStrategy { Type = "Recreate" } : null,
        },
    };

    public V1StatefulSet StatefulSet(string name, string serviceName, V1PodSpec pod, V1PersistentVolumeClaim claimTemplate, bool retainClaims) => new()
    {
        ApiVersion = "apps/v1", Kind = "StatefulSet", Metadata = Meta(name),
        Spec = new V1StatefulSetSpec
        {
            Replicas = 1,
            ServiceName = serviceName,
            Selector = new V1LabelSelector { MatchLabels = Selector() },
            Template = Template(pod),
            VolumeClaimTemplates = [claimTemplate],
            PersistentVolumeClaimRetentionPolicy = new V1StatefulSetPersistentVolumeClaimRetentionPolicy
            {
                WhenDeleted = retainClaims ? "Retain" : "Delete",
                WhenScaled = "Retain",
            },
        },
    };

    /// <summary>A PVC template for a StatefulSet; marked as retained data when <paramref name="retain"/>.</summary>
    public V1PersistentVolumeClaim ClaimTemplate(string name, string size, string? storageClass, bool retain)
    {
        var metadata = new V1ObjectMeta { Name = name, Labels = Labels() };
        DataRetention.Mark(metadata, retain);
        return new V1PersistentVolumeClaim
        {
            ApiVersion = "v1", Kind = "PersistentVolumeClaim", Metadata = metadata,
            Spec = new V1PersistentVolumeClaimSpec
            {
                AccessModes = ["ReadWriteOnce"],
                StorageClassName = storageClass,
                Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new(size) } },
            },
        };
    }

    public V1Ingress Ingress(string name, string host, string serviceName, int servicePort, string? tlsSecret, string? ingressClass) => new()
    {
        ApiVersion = "networking.k8s.io/v1", Kind = "Ingress", Metadata = Meta(name),
        Spec = new V1IngressSpec
        {
            IngressClassName = ingressClass,
            Tls = tlsSecret is null ? null : [new V1IngressTLS { Hosts = [host], SecretName = tlsSecret }],
            Rules = [new V1IngressRule { Host = host, Http = new V1HTTPIngressRuleValue { Paths = [Path("/", serviceName, servicePort)] } }],
        },
    };

    public static V1HTTPIngressPath Path(string path, string serviceName, int port) => new()
    {
        Path = path, PathType = "Prefix",
        Backend = new V1IngressBackend { Service = new V1IngressServiceBackend { Name = serviceName, Port = new V1ServiceBackendPort { Number = port } } },
    };

    public static V1EnvVar Env(string name, string value) => new() { Name = name, Value = value };

    public static V1EnvVar EnvFromSecret(string name, string secret, string key) => new()
    {
        Name = name,
        ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = secret, Key = key } },
    };

    /// <summary>Requests equal limits, so the pod gets exactly what the spec says (Guaranteed QoS when all are set).</summary>
    public static V1ResourceRequirements? Resources(ComputeResources? resources)
    {
        if (resources is null) return null;
        var amounts = new Dictionary<string, ResourceQuantity>();
        if (!string.IsNullOrEmpty(resources.Cpu)) amounts["cpu"] = new ResourceQuantity(resources.Cpu);
        if (!string.IsNullOrEmpty(resources.Memory)) amounts["memory"] = new ResourceQuantity(resources.Memory);
        if (resources.Gpus is > 0) amounts["nvidia.com/gpu"] = new ResourceQuantity(resources.Gpus.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (amounts.Count == 0) return null;
        return new V1ResourceRequirements { Requests = amounts, Limits = new Dictionary<string, ResourceQuantity>(amounts) };
    }

    public static V1Probe HttpProbe(string path, int port, int initialDelaySeconds = 5, int periodSeconds = 10) => new()
    {
        HttpGet = new V1HTTPGetAction { Path = path, Port = port },
        InitialDelaySeconds = initialDelaySeconds,
        PeriodSeconds = periodSeconds,
    };

    public static V1Probe TcpProbe(int port, int initialDelaySeconds = 5) => new()
    {
        TcpSocket = new V1TCPSocketAction { Port = port }, InitialDelaySeconds = initialDelaySeconds, PeriodSeconds = 10,
    };

    public static V1Probe ExecProbe(params string[] command) => new()
    {
        Exec = new V1ExecAction { Command = command }, InitialDelaySeconds = 5, PeriodSeconds = 10,
    };
}
