namespace AnalysisFacility.Operator.Api.V1Alpha1;

[CustomResource(ApiGroup.Group, ApiGroup.Version, "DaskCluster", "daskclusters",
    ShortNames = ["dc", "dask"], Categories = [ApiGroup.Category],
    Description = "A Dask scheduler and its workers, with TLS from the facility CA, an external SNI-routed address and adaptive scaling.")]
[PrinterColumn("Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status")]
[PrinterColumn("Phase", "string", ".status.phase")]
[PrinterColumn("Workers", "integer", ".status.readyWorkers")]
[PrinterColumn("Desired", "integer", ".status.desiredWorkers")]
[PrinterColumn("Scheduler", "string", ".status.schedulerAddress", Priority = 1)]
[PrinterColumn("External", "string", ".status.externalAddress", Priority = 1)]
[PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
public sealed class DaskCluster : CustomResource<DaskClusterSpec, DaskClusterStatus>
{
    public const string KindName = "DaskCluster";
    public DaskCluster() => Kind = KindName;
}

public sealed class DaskClusterSpec
{
    [Doc("AnalysisFacility (same namespace) whose CA, domain and Dask defaults apply.")]
    [Required, Pattern(Patterns.DnsLabel)] public string FacilityRef { get; set; } = "";

    [Doc("Owning user: workers and scheduler get this user's token file (BEARER_TOKEN_FILE).")]
    [Pattern(Patterns.UserName)] public string? User { get; set; }

    [Doc("Image of scheduler and workers (facility default when empty).")]
    [Pattern(Patterns.Image)] public string? Image { get; set; }

    [Doc("Scheduler settings.")]
    public DaskSchedulerSpec Scheduler { get; set; } = new();

    [Doc("Worker settings.")]
    public DaskWorkerSpec Worker { get; set; } = new();

    [Doc("Adaptive scaling: the controller asks the scheduler's /api/v1/adaptive_target and scales between minimum and maximum.")]
    public DaskAdaptiveSpec? Adaptive { get; set; }

    [Doc("Mutual TLS between client, scheduler and workers with certificates from the facility CA.")]
    [Default(true)] public bool Tls { get; set; } = true;

    [Doc("Expose the scheduler as tls://<name>.dask.<domain>:8786 through the facility's TCP ingress (SNI).")]
    [Default(false)] public bool External { get; set; }
}

public sealed class DaskSchedulerSpec
{
    [Doc("Resources of the scheduler container.")]
    public ComputeResources? Resources { get; set; }

    [Doc("Service type of the scheduler Service.")]
    [Default("ClusterIP"), Enum("ClusterIP", "NodePort", "LoadBalancer")] public string ServiceType { get; set; } = "ClusterIP";

    [Doc("Extra environment of the scheduler.")]
    [Items(MapKeys = ["name"])] public List<EnvironmentVariable> Env { get; set; } = [];

    [Doc("Seconds of idleness after which the scheduler shuts down (0: never).")]
    [Default(0), Range(Minimum = 0)] public int IdleTimeoutSeconds { get; set; }
}

public sealed class DaskWorkerSpec
{
    [Doc("Number of workers when not scaling adaptively.")]
    [Default(1), Range(Minimum = 0, Maximum = 10000)] public int Replicas { get; set; } = 1;

    [Doc("Resources of each worker (facility defaults when empty).")]
    public ComputeResources? Resources { get; set; }

    [Doc("Threads per worker (default: the worker's cores).")]
    [Range(Minimum = 1, Maximum = 256)] public int? Threads { get; set; }

    [Doc("Extra environment of the workers.")]
    [Items(MapKeys = ["name"])] public List<EnvironmentVariable> Env { get; set; } = [];
}

public sealed class DaskAdaptiveSpec
{
    [Doc("Fewest workers.")]
    [Default(0), Range(Minimum = 0, Maximum = 10000)] public int Minimum { get; set; }

    [Doc("Most workers.")]
    [Required, Range(Minimum = 0, Maximum = 10000)] public int Maximum { get; set; }

    [Doc("How often the scheduler is asked (duration).")]
    [Default("10s"), Pattern(Patterns.Duration)] public string Interval { get; set; } = "10s";
}

public sealed class DaskClusterStatus : ResourceStatus
{
    [Doc("Scheduler address inside the cluster.")] public string? SchedulerAddress { get; set; }
    [Doc("Scheduler address from outside (SNI routed).")] public string? ExternalAddress { get; set; }
    [Doc("Dashboard URL.")] public string? DashboardUrl { get; set; }
    [Doc("Workers the controller asks for.")] public int? DesiredWorkers { get; set; }
    [Doc("Workers whose pods are ready.")] public int? ReadyWorkers { get; set; }
}
