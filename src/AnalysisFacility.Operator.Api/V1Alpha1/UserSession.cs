namespace AnalysisFacility.Operator.Api.V1Alpha1;

[CustomResource(ApiGroup.Group, ApiGroup.Version, "UserSession", "usersessions",
    ShortNames = ["us", "usess"], Categories = [ApiGroup.Category],
    Description = "One user's working session: notebook pod with token, store directory, Dask and HTCondor client configuration.")]
[PrinterColumn("User", "string", ".spec.user.name")]
[PrinterColumn("Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status")]
[PrinterColumn("Phase", "string", ".status.phase")]
[PrinterColumn("Pod", "string", ".status.podName", Priority = 1)]
[PrinterColumn("Token-Expires", "date", ".status.tokenExpiresAt", Priority = 1)]
[PrinterColumn("Reason", "string", ".status.conditions[?(@.type==\"Ready\")].reason", Priority = 1)]
[PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
public sealed class UserSession : CustomResource<UserSessionSpec, UserSessionStatus>
{
    public const string KindName = "UserSession";
    public UserSession() => Kind = KindName;
}

public sealed class UserSessionSpec
{
    [Doc("Name of the AnalysisFacility (same namespace) this session belongs to.")]
    [Required, Pattern(Patterns.DnsLabel)] public string FacilityRef { get; set; } = "";

    [Doc("The user the session is for.")]
    [Required] public SessionUser User { get; set; } = new();

    [Doc("Name of a hub profile; its image, cores, memory and GPUs are used unless overridden below.")]
    [Pattern(Patterns.DnsLabel)] public string? Profile { get; set; }

    [Doc("Notebook image (overrides the profile).")]
    [Pattern(Patterns.Image)] public string? Image { get; set; }

    [Doc("CPU cores (overrides the profile).")]
    [Pattern(Patterns.Quantity)] public string? Cores { get; set; }

    [Doc("Memory (overrides the profile).")]
    [Pattern(Patterns.Quantity)] public string? Memory { get; set; }

    [Doc("NVIDIA GPUs (overrides the profile).")]
    [Range(Minimum = 0, Maximum = 16)] public int? Gpus { get; set; }

    [Doc("A Dask cluster for this session (a DaskCluster owned by the session).")]
    public SessionDask? Dask { get; set; }

    [Doc("Store directory name, overriding the facility's user mapping. A directory the mapping gives to another user is refused unless that entry's sharedWith lists this user; the nobody directory is refused.")]
    [Pattern(Patterns.StoreName)] public string? StoreName { get; set; }

    [Doc("Stop the session this long after it was created (duration, e.g. 12h). The facility's culling applies as well.")]
    [Pattern(Patterns.Duration)] public string? Ttl { get; set; }

    [Doc("Secret (same namespace) whose keys become environment variables of the notebook server: the JUPYTERHUB_* variables the hub's spawner writes (API token, OAuth client, service URL).")]
    [Pattern(Patterns.DnsSubdomain)] public string? HubEnvSecretName { get; set; }

    [Doc("Secret (same namespace, owned by this session) in which the hub's spawner hands over the login's refresh token from the experiment's identity provider (key refresh_token). Only the operator reads it, to keep the session's experiment token fresh; it never reaches a pod. A Secret not owned by this session is refused.")]
    [Pattern(Patterns.DnsSubdomain)] public string? RefreshTokenSecretName { get; set; }
}

public sealed class SessionUser
{
    [Doc("Hub user name.")]
    [Required, Pattern(Patterns.UserName)] public string Name { get; set; } = "";

    [Doc("E-mail address (used for the store mapping by e-mail).")]
    [Pattern("^[^@\\s]+@[^@\\s]+$")] public string? Email { get; set; }

    [Doc("WLCG groups of the user (e.g. /cms, /cms/higgs); they select group scopes and go into wlcg.groups.")]
    [Items(Unique = true, MaxItems = 64)] public List<string> Groups { get; set; } = [];
}

public sealed class SessionDask
{
    [Doc("Create a Dask cluster for the session.")]
    [Default(true)] public bool Enabled { get; set; } = true;

    [Doc("Fewest workers when scaling adaptively.")]
    [Default(0), Range(Minimum = 0, Maximum = 10000)] public int Minimum { get; set; }

    [Doc("Most workers, at least minimum. Capped by the facility's spec.dask.maxWorkersPerCluster; the DaskLimits condition reports a cap.")]
    [Default(10), Range(Minimum = 0, Maximum = 10000)] public int Maximum { get; set; } = 10;
}

public sealed class UserSessionStatus : ResourceStatus
{
    [Doc("URL of the notebook server (as the hub proxies to it).")]
    public string? ServerUrl { get; set; }

    [Doc("Name of the notebook pod.")]
    public string? PodName { get; set; }

    [Doc("Expiry of the current token (RFC 3339).")]
    public DateTime? TokenExpiresAt { get; set; }

    [Doc("When the current token was minted.")]
    public DateTime? TokenIssuedAt { get; set; }

    [Doc("Store directory mounted (the nobody directory read-only when the user has none).")]
    public string? StoreName { get; set; }

    [Doc("Whether the store directory is mounted read-only.")]
    public bool? StoreReadOnly { get; set; }

    [Doc("Scheduler address of the session's Dask cluster.")]
    public string? DaskSchedulerAddress { get; set; }
}
