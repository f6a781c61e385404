using k8s;
using AnalysisFacility.Operator.Runtime.Status;

namespace AnalysisFacility.Operator.Api.V1Alpha1;

/// <summary>Constants shared by all kinds of the API group.</summary>
public static class ApiGroup
{
    public const string Group = "analysisfacility.io";
    public const string Version = "v1alpha1";
    public const string ApiVersion = Group + "/" + Version;
    /// <summary>The category that lists every kind: <c>kubectl get analysisfacility-all</c>.</summary>
    public const string Category = "analysisfacility-all";
}

/// <summary>Regular expressions used by the schema and by validation in code.</summary>
public static class Patterns
{
    /// <summary>A DNS-1123 label: what Kubernetes accepts as an object name.</summary>
    public const string DnsLabel = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
    /// <summary>A DNS subdomain (host names, domains).</summary>
    public const string DnsSubdomain = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
    /// <summary>A Kubernetes resource quantity (e.g. 500m, 2, 6Gi, 1.5G).</summary>
    public const string Quantity = "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$";
    /// <summary>A Go-style duration made of hours, minutes and seconds, e.g. 1h, 90m, 1h30m, 45s.</summary>
    public const string Duration = "^([0-9]+(h|m|s))+$";
    /// <summary>A hub user name: letters, digits and . _ @ + - (e-mail style names allowed), at most 64 characters.</summary>
    public const string UserName = "^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$";
    /// <summary>A store directory name (e.g. a CMS user name), a single path segment.</summary>
    public const string StoreName = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";
    /// <summary>A WLCG group: a slash-separated path such as /cms or /cms/higgs.</summary>
    public const string WlcgGroup = "^/[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)*$";
    /// <summary>An HTTPS issuer URL with no trailing slash (consumers compare it as an exact string).</summary>
    public const string IssuerUrl = "^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~-]+)*$";
    /// <summary>An issuer URL of another provider, as its tokens carry it (a trailing slash allowed, e.g. https://cms-auth.web.cern.ch/).</summary>
    public const string TrustedIssuerUrl = "^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~-]+)*/?$";
    /// <summary>A token subject as issuers write it: printable ASCII without spaces.</summary>
    public const string TokenSubject = "^[!-~]{1,256}$";
    /// <summary>A pool identity (HTCondor job Owner): lower-case letters, digits and . _ -, starting with a letter.</summary>
    public const string PoolIdentity = "^[a-z][a-z0-9._-]{0,63}$";
    /// <summary>An OAuth2 client id of a robot client.</summary>
    public const string ClientId = "^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$";
    /// <summary>An absolute, normalised path (no "..", no "//", no trailing slash except for "/").</summary>
    public const string AbsolutePath = "^/([A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*)?$";
    /// <summary>A container image reference.</summary>
    public const string Image = "^[a-z0-9]([a-z0-9._/:@-]*[A-Za-z0-9_.-])?$";
}

/// <summary>Base of every custom resource: the Kubernetes object envelope plus spec and status.</summary>
public abstract class CustomResource<TSpec, TStatus> : IKubernetesObject<V1ObjectMeta>, ISpec<TSpec>, IStatus<TStatus>
    where TSpec : new()
    where TStatus : ResourceStatus, new()
{
    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = ApiGroup.ApiVersion;
    [JsonPropertyName("kind")] public string Kind { get; set; } = "";
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [JsonPropertyName("spec")] public TSpec Spec { get; set; } = new();
    [JsonPropertyName("status")] public TStatus Status { get; set; } = new();
}

/// <summary>Status fields common to every kind.</summary>
public class ResourceStatus
{
    [Doc("The most recent metadata.generation the controller has acted on.")]
    public long? ObservedGeneration { get; set; }

    [Doc("A one-word summary derived from the conditions on every reconcile (Pending, Progressing, Ready, Failed).")]
    public string? Phase { get; set; }

    [Doc("Current conditions. Ready is True when everything the resource describes is running.")]
    [Items(MapKeys = ["type"])]
    public List<Condition> Conditions { get; set; } = [];
}

/// <summary>A reference to a key of a Secret in the same namespace.</summary>
public sealed class SecretKeyReference
{
    [Doc("Name of the Secret.")]
    [Required, Pattern(Patterns.DnsSubdomain)] public string Name { get; set; } = "";

    [Doc("Key inside the Secret.")]
    [Required] public string Key { get; set; } = "";
}

/// <summary>CPU, memory and GPUs for one container.</summary>
public sealed class ComputeResources
{
    [Doc("CPU cores requested (and limited to), as a Kubernetes quantity: 2, 500m.")]
    [Pattern(Patterns.Quantity)] public string? Cpu { get; set; }

    [Doc("Memory requested (and limited to), as a Kubernetes quantity: 6Gi.")]
    [Pattern(Patterns.Quantity)] public string? Memory { get; set; }

    [Doc("NVIDIA GPUs (nvidia.com/gpu) requested.")]
    [Range(Minimum = 0, Maximum = 16)] public int? Gpus { get; set; }
}

/// <summary>An environment variable with a literal value.</summary>
public sealed class EnvironmentVariable
{
    [Doc("Variable name.")]
    [Required, Pattern("^[A-Za-z_][A-Za-z0-9_]*$")] public string Name { get; set; } = "";

    [Doc("Variable value.")]
    public string Value { get; set; } = "";
}
