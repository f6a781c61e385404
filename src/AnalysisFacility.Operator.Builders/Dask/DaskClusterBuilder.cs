using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Common;
using k8s.Models;

namespace AnalysisFacility.Operator.Builders.Dask;

/// <summary>Where users and the controller reach the cluster (goes into the status).</summary>
public sealed record DaskClusterAddresses(string Scheduler, string? External, string Dashboard, string Api);

/// <summary>Either the objects or the reasons the spec cannot be built.</summary>
public sealed record DaskBuildResult(DaskClusterObjects? Objects, IReadOnlyList<string> Errors)
{
    public bool IsValid => Errors.Count == 0;
}

/// <summary>Pure: DaskCluster + facility settings in, Kubernetes objects out.</summary>
public static class DaskClusterBuilder
{
    public const string TlsMountPath = "/etc/dask/tls";
    public const string TlsVolumeName = "dask-tls";
    public const string TlsChecksumAnnotation = "analysisfacility.io/tls-checksum";
    public const string TraefikApiVersion = "traefik.io/v1alpha1";
    public const string TraefikEntryPoint = "dask";

    private const string SchedulerCpuDefault = "1";
    private const string SchedulerMemoryDefault = "2Gi";

    public static DaskBuildResult Build(DaskCluster cluster, DaskBuildInput input)
    {
        var name = cluster.Metadata?.Name;
        var @namespace = cluster.Metadata?.NamespaceProperty;
        if (string.IsNullOrEmpty(name) || string.IsNullOrEmpty(@namespace))
            return new DaskBuildResult(null, ["metadata.name and metadata.namespace must be set."]);

        var spec = cluster.Spec;
        var errors = DaskClusterValidator.Validate(spec, input.FacilityName, input.FacilityDomain, input.Defaults).ToList();
        if (input.DesiredWorkers < 0) errors.Add($"desired workers is {input.DesiredWorkers}; it must be 0 or more.");
        if (spec.Tls && (input.TlsSecretData is null || !HasTlsKeys(input.TlsSecretData)))
            throw new ArgumentException("spec.tls is true: pass the data from DaskTls.Ensure as TlsSecretData", nameof(input));
        if (!string.IsNullOrEmpty(spec.User) && input.TokenDelivery is null)
            throw new ArgumentException("spec.user is set: pass the user's token delivery so pods get BEARER_TOKEN_FILE", nameof(input));
        if (errors.Count > 0) return new DaskBuildResult(null, errors);

        var schedulerHost = DaskNames.SchedulerHost(name, @namespace);
        var scheme = spec.Tls ? "tls" : "tcp";
        var externalHost = spec.External ? DaskNames.ExternalHost(name, input.FacilityDomain!) : null;
        var addresses = new DaskClusterAddresses(
            Scheduler: $"{scheme}://{schedulerHost}:{DaskNames.CommPort}",
            External: externalHost is null ? null : $"tls://{externalHost}:{DaskNames.CommPort}",
            Dashboard: $"http://{schedulerHost}:{DaskNames.DashboardPort}/status",
            Api: $"http://{schedulerHost}:{DaskNames.DashboardPort}/api/v1");

        var tlsSecret = spec.Tls ? BuildTlsSecret(name, @namespace, cluster, input) : null;
        var checksum = input.TlsSecretData is not null && spec.Tls ? Checksum(input.TlsSecretData) : null;

        return new DaskBuildResult(new DaskClusterObjects(
            BuildSchedulerDeployment(cluster, name, @namespace, input, checksum),
            BuildSchedulerService(cluster, name, @namespace, input),
            BuildWorkerDeployment(cluster, name, @namespace, input, schedulerHost, checksum),
            tlsSecret,
            externalHost is null ? null : BuildRoute(cluster, name, @namespace, input, externalHost),
            addresses), []);
    }

    /// <summary>The worker container's --memory-limit in bytes and --nthreads, from spec or facility defaults.</summary>
    public static (long MemoryBytes, int Threads) WorkerCapacity(DaskWorkerSpec worker, DaskDefaults defaults)
    {
        var cores = DaskClusterValidator.ParsePositiveQuantity(worker.Resources?.Cpu ?? defaults.WorkerCores) ?? 1m;
        var memory = DaskClusterValidator.ParsePositiveQuantity(worker.Resources?.Memory ?? defaults.WorkerMemory) ?? 1m;
        var threads = worker.Threads ?? (int)Math.Max(1, Math.Ceiling(cores));
        return ((long)Math.Floor(memory), threads);
    }

    private static V1Deployment BuildSchedulerDeployment(DaskCluster cluster, string name, string @namespace, DaskBuildInput input, string? checksum)
    {
        var spec = cluster.Spec;
        var labels = ObjectLabels(cluster, name, input, DaskNames.SchedulerComponent);
        var env = new List<V1EnvVar> { Env(DaskEnvironment.HttpRoutes, DaskEnvironment.SchedulerRoutesValue) };
        if (spec.Tls)
        {
            env.AddRange(TlsEnvironment(DaskEnvironment.TlsSchedulerCert, DaskEnvironment.TlsSchedulerKey, DaskTls.SchedulerCertificateKey, DaskTls.SchedulerPrivateKeyKey));
        }
        if (spec.Scheduler.IdleTimeoutSeconds > 0)
            env.Add(Env(DaskEnvironment.IdleTimeout, $"{spec.Scheduler.IdleTimeoutSeconds}s"));
        env.AddRange(spec.Scheduler.Env.Select(variable => Env(variable.Name, variable.Value)));

        var container = new V1Container
        {
            Name = "scheduler",
            Image = Image(spec, input),
            Args = SchedulerArguments(spec.Tls),
            Env = env,
            Ports =
            [
                new V1ContainerPort { ContainerPort = DaskNames.CommPort, Name = DaskNames.CommPortName, Protocol = "TCP" },
                new V1ContainerPort { ContainerPort = DaskNames.DashboardPort, Name = DaskNames.DashboardPortName, Protocol = "TCP" },
            ],
            Resources = Resources(spec.Scheduler.Resources?.Cpu ?? SchedulerCpuDefault, spec.Scheduler.Resources?.Memory ?? SchedulerMemoryDefault, spec.Scheduler.Resources?.Gpus),
            ReadinessProbe = HealthProbe(DaskNames.DashboardPortName, periodSeconds: 5, failureThreshold: 3),
            LivenessProbe = HealthProbe(DaskNames.DashboardPortName, periodSeconds: 15, failureThreshold: 4, initialDelaySeconds: 15),
            SecurityContext = new V1SecurityContext { AllowPrivilegeEscalation = false },
        };

        return new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = Metadata(DaskNames.Scheduler(name), @namespace, labels),
            Spec = new V1DeploymentSpec
            {
                Replicas = 1,
                // One scheduler only: never run two during an update (workers would split between them).
                Strategy = new V1DeploymentStrategy { Type = "Recreate" },
                Selector = new V1LabelSelector { MatchLabels = Labels.Selector(DaskNames.Application, name, DaskNames.SchedulerComponent) },
                Template = PodTemplate(spec, labels, container, input, checksum, terminationGraceSeconds: 30),
            },
        };
    }

    private static V1Deployment BuildWorkerDeployment(DaskCluster cluster, string name, string @namespace, DaskBuildInput input, string schedulerHost, string? checksum)
    {
        var spec = cluster.Spec;
        var labels = ObjectLabels(cluster, name, input, DaskNames.WorkerComponent);
        var (memoryBytes, threads) = WorkerCapacity(spec.Worker, input.Defaults);
        var scheme = spec.Tls ? "tls" : "tcp";

        // The worker is named after its pod so that workers retired through the scheduler map to pods the controller removes.
        var env = new List<V1EnvVar>
        {
            new() { Name = DaskEnvironment.WorkerName, ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } },
        };
        if (spec.Tls)
        {
            env.AddRange(TlsEnvironment(DaskEnvironment.TlsWorkerCert, DaskEnvironment.TlsWorkerKey, DaskTls.ClientCertificateKey, DaskTls.ClientPrivateKeyKey));
            // The nanny and in-worker clients connect as "client".
            env.Add(Env(DaskEnvironment.TlsClientCert, $"{TlsMountPath}/{DaskTls.ClientCertificateKey}"));
            env.Add(Env(DaskEnvironment.TlsClientKey, $"{TlsMountPath}/{DaskTls.ClientPrivateKeyKey}"));
        }
        env.AddRange(spec.Worker.Env.Select(variable => Env(variable.Name, variable.Value)));

        var container = new V1Container
        {
            Name = "worker",
            Image = Image(spec, input),
            Args = WorkerArguments($"{scheme}://{schedulerHost}:{DaskNames.CommPort}", $"$({DaskEnvironment.WorkerName})", threads, memoryBytes),
            Env = env,
            Ports = [new V1ContainerPort { ContainerPort = DaskNames.WorkerDashboardPort, Name = "http-dashboard", Protocol = "TCP" }],
            Resources = Resources(spec.Worker.Resources?.Cpu ?? input.Defaults.WorkerCores, spec.Worker.Resources?.Memory ?? input.Defaults.WorkerMemory, spec.Worker.Resources?.Gpus),
            ReadinessProbe = HealthProbe("http-dashboard", periodSeconds: 5, failureThreshold: 3),
            LivenessProbe = HealthProbe("http-dashboard", periodSeconds: 15, failureThreshold: 4, initialDelaySeconds: 15),
            SecurityContext = new V1SecurityContext { AllowPrivilegeEscalation = false },
        };

        // Retirement has already moved the data away; the grace period lets the nanny close cleanly.
        var template = PodTemplate(spec, labels, container, input, checksum, terminationGraceSeconds: 60);
        // Workers run the user's analysis, so they see the data the notebook sees: /cvmfs and the XCache's TLS trust.
        if (input.XCacheCaConfigMap is { } xcacheCa)
        {
            Sessions.SessionCaDirectory.AddTo(template.Spec, container, xcacheCa);
            container.Env.Add(Env("X509_CERT_DIR", Sessions.SessionCaDirectory.CertificateDirectory));
        }
        if (input.Cvmfs) Sessions.SessionCvmfs.AddTo(template.Spec, input.FacilityName, [container]);
        return new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = Metadata(DaskNames.Workers(name), @namespace, labels),
            Spec = new V1DeploymentSpec
            {
                Replicas = input.DesiredWorkers,
                Selector = new V1LabelSelector { MatchLabels = Labels.Selector(DaskNames.Application, name, DaskNames.WorkerComponent) },
                Template = template,
            },
        };
    }

    /// <summary>
    /// dask scheduler command line: comm and dashboard ports, TLS when wanted (files come from the environment).
    /// <paramref name="host"/> binds both to one address (tests use 127.0.0.1); pods listen on all interfaces.
    /// </summary>
    public static List<string> SchedulerArguments(bool tls, int commPort = DaskNames.CommPort, int dashboardPort = DaskNames.DashboardPort, string? host = null)
    {
        var arguments = new List<string> { "dask", "scheduler", "--protocol", tls ? "tls" : "tcp", "--port", Text(commPort), "--dashboard-address", $"{host}:{Text(dashboardPort)}" };
        if (host is not null) arguments.AddRange(["--host", host]);
        return arguments;
    }

    /// <summary>dask worker command line; <paramref name="host"/> as for <see cref="SchedulerArguments"/>.</summary>
    public static List<string> WorkerArguments(string schedulerAddress, string workerName, int threads, long memoryBytes, int dashboardPort = DaskNames.WorkerDashboardPort, string? host = null)
    {
        var arguments = new List<string>
        {
            "dask", "worker", schedulerAddress, "--name", workerName, "--nthreads", Text(threads), "--memory-limit", memoryBytes.ToString(CultureInfo.InvariantCulture),
            "--dashboard-address", $"{host}:{Text(dashboardPort)}",
        };
        if (host is not null) arguments.AddRange(["--host", host]);
        return arguments;
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static IEnumerable<V1EnvVar> TlsEnvironment(string certVariable, string keyVariable, string certFile, string keyFile) =>
    [
        Env(DaskEnvironment.RequireEncryption, "True"),
        Env(DaskEnvironment.TlsCaFile, $"{TlsMountPath}/{DaskTls.CaCertificateKey}"),
        Env(certVariable, $"{TlsMountPath}/{certFile}"),
        Env(keyVariable, $"{TlsMountPath}/{keyFile}"),
    ];

    private static V1PodTemplateSpec PodTemplate(DaskClusterSpec spec, Dictionary<string, string> labels, V1Container container,
        DaskBuildInput input, string? checksum, long terminationGraceSeconds)
    {
        var volumes = new List<V1Volume>();
        var mounts = new List<V1VolumeMount>();
        if (spec.Tls)
        {
            volumes.Add(new V1Volume
            {
                Name = TlsVolumeName,
                Secret = new V1SecretVolumeSource { SecretName = DaskNames.TlsSecret(labels[Labels.Instance]), DefaultMode = 0x124 /* 0444: any uid the image runs as can read */ },
            });
            mounts.Add(new V1VolumeMount { MountPath = TlsMountPath, Name = TlsVolumeName, ReadOnlyProperty = true });
        }
        var initContainers = new List<V1Container>();
        var containers = new List<V1Container> { container };
        if (input.TokenDelivery is { } token && !string.IsNullOrEmpty(spec.User))
        {
            volumes.AddRange(token.Volumes);
            mounts.AddRange(token.VolumeMounts);
            container.Env.Add(Env(DaskEnvironment.BearerTokenFile, token.TokenFilePath));
            foreach (var variable in token.Environment ?? []) container.Env.Add(variable);
            initContainers.AddRange(token.InitContainers);
            containers.AddRange(token.Sidecars);
        }
        container.VolumeMounts = mounts;

        return new V1PodTemplateSpec
        {
            Metadata = new V1ObjectMeta
            {
                Labels = new Dictionary<string, string>(labels),
                Annotations = checksum is null ? null : new Dictionary<string, string> { [TlsChecksumAnnotation] = checksum },
            },
            Spec = new V1PodSpec
            {
                Containers = containers,
                InitContainers = initContainers.Count > 0 ? initContainers : null,
                Volumes = volumes,
                // Without it the token helpers (non-root) cannot read the Secret's root-owned files: found when the
                // local node first ran a scheduler pod.
                SecurityContext = input.TokenDelivery?.FsGroup is { } fsGroup ? new V1PodSecurityContext { FsGroup = fsGroup } : null,
                TerminationGracePeriodSeconds = terminationGraceSeconds,
                EnableServiceLinks = false,
                AutomountServiceAccountToken = false,
            },
        };
    }

    private static V1Service BuildSchedulerService(DaskCluster cluster, string name, string @namespace, DaskBuildInput input) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = Metadata(DaskNames.Scheduler(name), @namespace, ObjectLabels(cluster, name, input, DaskNames.SchedulerComponent)),
        Spec = new V1ServiceSpec
        {
            Type = cluster.Spec.Scheduler.ServiceType,
            Selector = Labels.Selector(DaskNames.Application, name, DaskNames.SchedulerComponent),
            Ports =
            [
                new V1ServicePort { Port = DaskNames.CommPort, Name = DaskNames.CommPortName, Protocol = "TCP", TargetPort = DaskNames.CommPortName },
                new V1ServicePort { Port = DaskNames.DashboardPort, Name = DaskNames.DashboardPortName, Protocol = "TCP", TargetPort = DaskNames.DashboardPortName },
            ],
        },
    };

    private static V1Secret BuildTlsSecret(string name, string @namespace, DaskCluster cluster, DaskBuildInput input) => new()
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Type = "Opaque",
        Metadata = Metadata(DaskNames.TlsSecret(name), @namespace, ObjectLabels(cluster, name, input, "tls")),
        Data = new Dictionary<string, byte[]>(input.TlsSecretData!),
    };

    private static UnstructuredObject BuildRoute(DaskCluster cluster, string name, string @namespace, DaskBuildInput input, string externalHost)
    {
        var metadata = Metadata(DaskNames.Route(name), @namespace, ObjectLabels(cluster, name, input, "route"));
        metadata.Annotations = new Dictionary<string, string> { ["kubernetes.io/ingress.class"] = input.Defaults.TcpIngressClass };
        return new UnstructuredObject
        {
            ApiVersion = TraefikApiVersion,
            Kind = "IngressRouteTCP",
            Metadata = metadata,
            Spec = new JsonObject
            {
                ["entryPoints"] = new JsonArray(TraefikEntryPoint),
                ["routes"] = new JsonArray(new JsonObject
                {
                    ["match"] = $"HostSNI(`{externalHost}`)",
                    ["services"] = new JsonArray(new JsonObject
                    {
                        ["name"] = DaskNames.Scheduler(name),
                        ["port"] = DaskNames.CommPort,
                    }),
                }),
                // The scheduler terminates TLS itself (mutual TLS with the facility CA); Traefik only reads the SNI.
                ["tls"] = new JsonObject { ["passthrough"] = true },
            },
        };
    }

    private static V1EnvVar Env(string name, string value) => new() { Name = name, Value = value };

    private static V1ResourceRequirements Resources(string cpu, string memory, int? gpus)
    {
        var amounts = new Dictionary<string, ResourceQuantity>
        {
            ["cpu"] = new(cpu),
            ["memory"] = new(memory),
        };
        if (gpus is > 0) amounts["nvidia.com/gpu"] = new(gpus.Value.ToString(CultureInfo.InvariantCulture));
        return new V1ResourceRequirements
        {
            Requests = new Dictionary<string, ResourceQuantity>(amounts),
            Limits = new Dictionary<string, ResourceQuantity>(amounts),
        };
    }

    private static V1Probe HealthProbe(string port, int periodSeconds, int failureThreshold, int initialDelaySeconds = 0) => new()
    {
        HttpGet = new V1HTTPGetAction { Path = "/health", Port = port },
        PeriodSeconds = periodSeconds,
        FailureThreshold = failureThreshold,
        InitialDelaySeconds = initialDelaySeconds,
        TimeoutSeconds = 3,
    };

    private static string Image(DaskClusterSpec spec, DaskBuildInput input) =>
        string.IsNullOrEmpty(spec.Image) ? input.Defaults.WorkerImage : spec.Image;

    private static Dictionary<string, string> ObjectLabels(DaskCluster cluster, string name, DaskBuildInput input, string component)
    {
        var labels = Labels.For(DaskNames.Application, name, component, input.FacilityName);
        if (!string.IsNullOrEmpty(cluster.Spec.User)) labels[Labels.User] = Labels.SafeValue(cluster.Spec.User);
        return labels;
    }

    private static V1ObjectMeta Metadata(string name, string @namespace, Dictionary<string, string> labels) => new()
    {
        Name = name,
        NamespaceProperty = @namespace,
        Labels = labels,
    };

    private static bool HasTlsKeys(IDictionary<string, byte[]> data) =>
        new[] { DaskTls.CaCertificateKey, DaskTls.SchedulerCertificateKey, DaskTls.SchedulerPrivateKeyKey, DaskTls.ClientCertificateKey, DaskTls.ClientPrivateKeyKey }
            .All(data.ContainsKey);

    /// <summary>Changes whenever a certificate is re-issued, so pods restart onto the new files.</summary>
    private static string Checksum(IDictionary<string, byte[]> data)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var key in data.Keys.Order(StringComparer.Ordinal))
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(key));
            hash.AppendData(data[key]);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }
}
