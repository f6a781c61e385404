using System.Text;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Sessions;
using k8s;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Builders.Facility;

/// <summary>
/// ServiceX as its Helm chart lays it out: the Flask app (config file app.conf plus secrets from the environment),
/// RabbitMQ, PostgreSQL (or an external URI), MinIO (or an external S3), DID finders and code generators.
/// </summary>
public static class ServiceXBuilder
{
    public const string Component = "servicex";
    public const string ConditionType = "ServiceXReady";
    public const int AppPort = 5000;
    /// <summary>The chart's app Service listens on 8000 and forwards to the Flask port.</summary>
    public const int ServicePort = 8000;
    public const int CodeGenPort = 8000;
    /// <summary>
    /// Open through the gateway and its probe: ServiceX's Info resource (servicex_app routes.py '/servicex', no
    /// auth_required even with ENABLE_AUTH), which tells only the app version and code generator images.
    /// </summary>
    public const string HealthPath = "/servicex";
    public const string RabbitMqImage = "rabbitmq:3.13-management";
    public const string MinioImage = "quay.io/minio/minio:RELEASE.2024-08-17T01-24-54Z";
    public const string RabbitMqUser = "user";
    public const string DatabaseName = "servicex";
    public const string DatabaseUser = "servicex";
    public static readonly IReadOnlyList<string> KnownDidFinders = ["rucio", "cernopendata", "xrootd"];

    public static IReadOnlyList<string> Validate(AnalysisFacilitySpec spec)
    {
        var servicex = spec.ServiceX;
        if (!servicex.Enabled) return [];
        var errors = new List<string>();
        if (servicex.DidFinders.Count == 0) errors.Add("spec.serviceX.didFinders must list at least one DID finder (e.g. rucio, cernopendata)");
        foreach (var finder in servicex.DidFinders.Where(f => !KnownDidFinders.Contains(f)))
            errors.Add($"spec.serviceX.didFinders has '{finder}'; allowed: {string.Join(", ", KnownDidFinders)}");
        foreach (var list in new[] { ("didFinders", servicex.DidFinders), ("codeGenerators", servicex.CodeGenerators) })
        {
            foreach (var duplicate in list.Item2.GroupBy(x => x).Where(g => g.Count() > 1))
                errors.Add($"spec.serviceX.{list.Item1} lists '{duplicate.Key}' twice");
        }
        if (servicex.CodeGenerators.Any(c => !System.Text.RegularExpressions.Regex.IsMatch(c, "^[a-z0-9_-]{1,30}$")))
            errors.Add("spec.serviceX.codeGenerators entries must be short names such as uproot or func_adl_uproot");
        if (servicex.AuthEnabled)
        {
            // servicex_app README "User Management": JWT_ADMIN names the first admin; sign-in is through Globus
            // (web/utils.py reads GLOBUS_CLIENT_ID and GLOBUS_CLIENT_SECRET).
            if (string.IsNullOrEmpty(servicex.AdminEmail))
                errors.Add("spec.serviceX.adminEmail is required when spec.serviceX.authEnabled is true (ServiceX makes that user its first admin)");
            if (string.IsNullOrEmpty(servicex.GlobusCredentialsSecret))
                errors.Add("spec.serviceX.globusCredentialsSecret is required when spec.serviceX.authEnabled is true (ServiceX signs users in through Globus)");
        }
        else if (AuthGateway.Problem(spec, "ServiceX") is { } gateway)
        {
            errors.Add(gateway);
        }
        return errors;
    }

    /// <summary>Whether the Rucio DID finder can run, and why not.</summary>
    public sealed record RucioFinderDecision(bool Deploy, string Reason, string Message);

    public const string RucioFinderConditionType = "ServiceXRucioFinderReady";

    /// <summary>
    /// The Rucio DID finder needs rucio.cfg (spec.rucio's hosts), an x509 proxy and the proxy's account: ServiceX's
    /// chart refuses to install it without certificates (helm/servicex/templates/did-finder-rucio/deployment.yaml,
    /// "Rucio DID Finder requires x509 Certs"), and its start script waits for the proxy file
    /// (did_finder_rucio/scripts/start_celery_worker.sh), so a token alone cannot work. Missing pieces mean it is not
    /// deployed, and the rucio scheme is left out of the app's valid schemes.
    /// </summary>
    public static RucioFinderDecision RucioFinder(AnalysisFacilitySpec spec)
    {
        if (!spec.ServiceX.DidFinders.Contains("rucio")) return new(false, "NotRequested", "spec.serviceX.didFinders does not list rucio.");
        var missing = new List<string>();
        if (!spec.Rucio.Enabled || SessionRucio.Validate(spec.Rucio).Count > 0) missing.Add("spec.rucio (enabled, host, authHost) for its rucio.cfg");
        if (spec.ServiceX.RucioFinder.X509Proxy is not { SecretName.Length: > 0 }) missing.Add("spec.serviceX.rucioFinder.x509Proxy (the finder authenticates to Rucio with an x509 proxy only)");
        if (string.IsNullOrEmpty(spec.ServiceX.RucioFinder.Account)) missing.Add("spec.serviceX.rucioFinder.account (the proxy's Rucio account)");
        return missing.Count == 0
            ? new(true, "Deployed", "The Rucio DID finder runs with the proxy of spec.serviceX.rucioFinder.x509Proxy.")
            : new(false, "MissingCredentials", $"The Rucio DID finder is not deployed and rucio:// datasets are refused: it needs {string.Join(", ", missing)}.");
    }

    /// <summary>The DID finders that run: the requested ones, less a Rucio finder that cannot.</summary>
    public static IReadOnlyList<string> DeployedDidFinders(AnalysisFacilitySpec spec) =>
        [.. spec.ServiceX.DidFinders.Where(f => f != "rucio" || RucioFinder(spec).Deploy)];

    public static string Url(FacilityResource facility) => facility.Spec.ServiceX.Host is { } host
        ? $"https://{host}"
        : $"http://{new FacilityNames(facility.Metadata.Name).ServiceXApp}.{facility.Metadata.NamespaceProperty}.svc:{ServicePort}";

    public static ComponentObjects Build(FacilityResource facility, FacilityContext context)
    {
        var servicex = facility.Spec.ServiceX;
        if (!servicex.Enabled) return ComponentObjects.Disabled(Component, ConditionType);
        var errors = Validate(facility.Spec);
        if (errors.Count > 0) return ComponentObjects.Invalid(Component, ConditionType, errors);

        var names = new FacilityNames(facility.Metadata.Name);
        var app = new Kube(facility, "servicex", "app");
        var secret = names.ServiceXSecret;
        var objects = new List<IKubernetesObject<V1ObjectMeta>>
        {
            app.Secret(secret, new Dictionary<string, byte[]>
            {
                ["rabbitmq-password"] = context.KeepOrGenerate(secret, "rabbitmq-password"),
                ["flaskSecretKey"] = context.KeepOrGenerate(secret, "flaskSecretKey"),
                ["jwtSecretKey"] = context.KeepOrGenerate(secret, "jwtSecretKey"),
                ["accesskey"] = context.KeepOrGenerate(secret, "accesskey", 12),
                ["secretkey"] = context.KeepOrGenerate(secret, "secretkey"),
            }),
            app.ConfigMap(names.ServiceXConfig, new Dictionary<string, string> { ["app.conf"] = AppConfig(facility) }),
        };

        var rabbit = new Kube(facility, "servicex", "rabbitmq");
        var rabbitUri = $"amqp://{RabbitMqUser}:$(RMQ_PASS)@{rabbit.ServiceHost(names.ServiceXRabbitMq)}:5672/%2F";
        objects.Add(rabbit.Deployment(names.ServiceXRabbitMq, 1, new V1PodSpec
        {
            Containers =
            [
                new V1Container
                {
                    Name = "rabbitmq", Image = RabbitMqImage,
                    Env = [Kube.Env("RABBITMQ_DEFAULT_USER", RabbitMqUser), Kube.EnvFromSecret("RABBITMQ_DEFAULT_PASS", secret, "rabbitmq-password")],
                    Ports = [new V1ContainerPort { Name = "amqp", ContainerPort = 5672 }],
                    ReadinessProbe = Kube.ExecProbe("rabbitmq-diagnostics", "-q", "check_port_connectivity"),
                },
            ],
        }));
        objects.Add(rabbit.Service(names.ServiceXRabbitMq, Kube.Port("amqp", 5672)));

        var appEnv = new List<V1EnvVar>
        {
            Kube.Env("APP_CONFIG_FILE", "/opt/servicex/app.conf"),
            Kube.Env("INSTANCE_NAME", facility.Metadata.Name),
            Kube.EnvFromSecret("RMQ_PASS", secret, "rabbitmq-password"),
            Kube.Env("RABBIT_MQ_URL", rabbitUri),
            Kube.Env("TRANSFORMER_RABBIT_MQ_URL", rabbitUri + "?heartbeat=9000"),
            Kube.EnvFromSecret("SECRET_KEY", secret, "flaskSecretKey"),
            Kube.EnvFromSecret("JWT_SECRET_KEY", secret, "jwtSecretKey"),
        };
        if (servicex.ExternalDatabaseUriSecretRef is { } externalDb)
        {
            appEnv.Add(Kube.EnvFromSecret("SQLALCHEMY_DATABASE_URI", externalDb.Name, externalDb.Key));
        }
        else
        {
            var db = new Kube(facility, "servicex", "database");
            // ServiceX's state is transient request bookkeeping: its database volume is not kept.
            objects.AddRange(PostgresBuilder.Build(db, names.ServiceXPostgres, names.ServiceXPostgres, DatabaseName, DatabaseUser, "2Gi", null, false, context));
            appEnv.Add(Kube.EnvFromSecret("PG_PASS", names.ServiceXPostgres, PostgresBuilder.PasswordKey));
            appEnv.Add(Kube.Env("SQLALCHEMY_DATABASE_URI", PostgresBuilder.Uri(db, names.ServiceXPostgres, DatabaseUser, DatabaseName, "PG_PASS")));
        }
        if (servicex.ExternalObjectStore is { } store)
        {
            appEnv.Add(Kube.Env("MINIO_URL", store.Endpoint));
            appEnv.Add(Kube.EnvFromSecret("MINIO_ACCESS_KEY", store.CredentialsSecret, "accessKey"));
            appEnv.Add(Kube.EnvFromSecret("MINIO_SECRET_KEY", store.CredentialsSecret, "secretKey"));
        }
        else
        {
            var minio = new Kube(facility, "servicex", "minio");
            objects.Add(minio.Deployment(names.ServiceXMinio, 1, new V1PodSpec
            {
                Containers =
                [
                    new V1Container
                    {
                        Name = "minio", Image = MinioImage,
                        Command = ["minio", "server", "/data", "--address", ":9000", "--console-address", ":9001"],
                        Env = [Kube.EnvFromSecret("MINIO_ROOT_USER", secret, "accesskey"), Kube.EnvFromSecret("MINIO_ROOT_PASSWORD", secret, "secretkey")],
                        Ports = [new V1ContainerPort { Name = "api", ContainerPort = 9000 }],
                        ReadinessProbe = Kube.HttpProbe("/minio/health/ready", 9000),
                        // Transform outputs are a cache users download from; they are not kept across restarts.
                        VolumeMounts = [new V1VolumeMount { Name = "data", MountPath = "/data" }],
                    },
                ],
                Volumes = [new V1Volume { Name = "data", EmptyDir = new V1EmptyDirVolumeSource() }],
            }));
            objects.Add(minio.Service(names.ServiceXMinio, Kube.Port("api", 9000)));
            appEnv.Add(Kube.Env("MINIO_URL", $"{names.ServiceXMinio}:9000"));
            appEnv.Add(Kube.EnvFromSecret("MINIO_ACCESS_KEY", secret, "accesskey"));
            appEnv.Add(Kube.EnvFromSecret("MINIO_SECRET_KEY", secret, "secretkey"));
        }

        if (servicex.AuthEnabled)
        {
            // The chart's `secrets` keys (helm/servicex/templates/app/deployment.yaml).
            appEnv.Add(Kube.EnvFromSecret("GLOBUS_CLIENT_ID", servicex.GlobusCredentialsSecret!, "globusClientID"));
            appEnv.Add(Kube.EnvFromSecret("GLOBUS_CLIENT_SECRET", servicex.GlobusCredentialsSecret!, "globusClientSecret"));
        }
        var appPod = new V1PodSpec
        {
            Containers =
            [
                new V1Container
                {
                    Name = "servicex-app", Image = $"sslhep/servicex_app:{servicex.ImageTag}",
                    Env = appEnv,
                    Ports = [new V1ContainerPort { Name = "http", ContainerPort = AppPort }],
                    ReadinessProbe = Kube.TcpProbe(AppPort),
                    VolumeMounts = [new V1VolumeMount { Name = "app-cfg", MountPath = "/opt/servicex", ReadOnlyProperty = true }],
                },
            ],
            Volumes = [new V1Volume { Name = "app-cfg", ConfigMap = new V1ConfigMapVolumeSource { Name = names.ServiceXConfig } }],
        };
        Dictionary<string, string>? appAnnotations = null;
        if (!servicex.AuthEnabled)
        {
            // ServiceX's own auth is off: the gateway is what refuses requests without a facility token.
            var httpdConfig = AuthGateway.HttpdConfig(AuthGateway.For(facility, AppPort, HealthPath));
            objects.Add(app.ConfigMap(names.ServiceXGateway, new Dictionary<string, string> { [AuthGateway.ConfigKey] = httpdConfig }));
            appPod.Containers.Add(AuthGateway.Container(facility, names.ServiceXGateway, HealthPath, out var gatewayVolumes));
            foreach (var volume in gatewayVolumes) appPod.Volumes.Add(volume);
            appAnnotations = new Dictionary<string, string> { [MlflowBuilder.AuthGatewayConfigAnnotation] = Common.Hashes.Of([httpdConfig]) };
            objects.Add(AppNetworkPolicy(app, names));
        }
        objects.Add(app.Deployment(names.ServiceXApp, 1, appPod, podAnnotations: appAnnotations));
        // Users (sessions, the Ingress) reach the gateway; ServiceX's own transformers report to the app directly,
        // without tokens, through the internal Service that ADVERTISED_HOSTNAME names.
        objects.Add(app.Service(names.ServiceXApp, Kube.Port("http", ServicePort, servicex.AuthEnabled ? AppPort : AuthGateway.Port)));
        objects.Add(app.Service(names.ServiceXInternal, Kube.Port("http", ServicePort, AppPort)));
        if (servicex.Host is { } host)
        {
            objects.Add(app.Ingress(names.ServiceXApp, host, names.ServiceXApp, ServicePort, facility.Spec.Hub.TlsSecretName, facility.Spec.Hub.IngressClassName));
        }

        foreach (var finder in DeployedDidFinders(facility.Spec))
        {
            var kube = new Kube(facility, "servicex", $"did-finder-{finder}");
            var container = new V1Container
            {
                // The chart names the Rucio finder's image sslhep/servicex-did-finder (helm/servicex/values.yaml didFinder.rucio.image).
                Name = "did-finder", Image = finder == "rucio" ? $"sslhep/servicex-did-finder:{servicex.ImageTag}" : $"sslhep/servicex-did-finder-{finder}:{servicex.ImageTag}",
                Env = [Kube.EnvFromSecret("RMQ_PASS", secret, "rabbitmq-password"), Kube.Env("RMQ_URI", rabbitUri), Kube.Env("BROKER_URL", rabbitUri + "?heartbeat=9000"),
                       Kube.Env("INSTANCE_NAME", facility.Metadata.Name)],
            };
            var pod = new V1PodSpec { Containers = [container] };
            if (finder == "rucio") AddRucioCredentials(facility, kube, names, pod, container, objects);
            objects.Add(kube.Deployment(names.ServiceXDidFinder(finder), 1, pod));
        }
        foreach (var generator in servicex.CodeGenerators)
        {
            var kube = new Kube(facility, "servicex", $"code-gen-{generator.Replace('_', '-')}");
            var name = names.ServiceXCodeGen(generator);
            objects.Add(kube.Deployment(name, 1, new V1PodSpec
            {
                Containers =
                [
                    new V1Container
                    {
                        Name = "code-gen", Image = $"sslhep/servicex_code_gen_{generator}:{servicex.ImageTag}",
                        Ports = [new V1ContainerPort { Name = "http", ContainerPort = CodeGenPort }],
                        ReadinessProbe = Kube.TcpProbe(CodeGenPort),
                    },
                ],
            }));
            objects.Add(kube.Service(name, Kube.Port("http", CodeGenPort)));
        }
        var rucioFinder = RucioFinder(facility.Spec);
        return ComponentObjects.Of(Component, ConditionType, objects) with
        {
            Notices = servicex.DidFinders.Contains("rucio")
                ? [new Sessions.ServiceCondition(RucioFinderConditionType, rucioFinder.Deploy, rucioFinder.Reason, rucioFinder.Message)]
                : [],
        };
    }

    /// <summary>
    /// The Rucio finder's rucio.cfg (the session renderer with x509_proxy auth and the proxy's account, as the chart's
    /// did-finder-rucio/rucio-configmap.yaml) at /opt/rucio/etc, and the proxy Secret at /etc/grid-security-ro, from
    /// where the image's proxy-exporter.sh copies x509up to X509_USER_PROXY every hour (did_finder_rucio/README.md).
    /// </summary>
    private static void AddRucioCredentials(FacilityResource facility, Kube kube, FacilityNames names, V1PodSpec pod, V1Container container,
        List<IKubernetesObject<V1ObjectMeta>> objects)
    {
        var finder = facility.Spec.ServiceX.RucioFinder;
        var rucio = new RucioSpec
        {
            Enabled = true, Host = facility.Spec.Rucio.Host, AuthHost = facility.Spec.Rucio.AuthHost, Vo = facility.Spec.Rucio.Vo,
            AuthType = "x509_proxy",
            // The image's X509_CERT_DIR (did_finder_rucio/Dockerfile), which the Rucio client prefers anyway.
            CaCertificates = "/etc/grid-security/certificates",
        };
        objects.Add(kube.ConfigMap(names.ServiceXRucioConfig, new Dictionary<string, string> { [SessionRucio.ConfigKey] = SessionRucio.Render(rucio, finder.Account, "") }));
        var proxy = finder.X509Proxy!;
        pod.Volumes =
        [
            new V1Volume { Name = "rucio-cfg", ConfigMap = new V1ConfigMapVolumeSource { Name = names.ServiceXRucioConfig } },
            new V1Volume
            {
                Name = "x509-secret",
                Secret = new V1SecretVolumeSource { SecretName = proxy.SecretName, DefaultMode = 292, Items = [new V1KeyToPath { Key = proxy.Key, Path = "x509up" }] },
            },
        ];
        container.VolumeMounts =
        [
            new V1VolumeMount { Name = "rucio-cfg", MountPath = "/opt/rucio/etc/", ReadOnlyProperty = true },
            new V1VolumeMount { Name = "x509-secret", MountPath = "/etc/grid-security-ro", ReadOnlyProperty = true },
        ];
        if (finder.Latitude is { } latitude) container.Env.Add(Kube.Env("RUCIO_LATITUDE", latitude));
        if (finder.Longitude is { } longitude) container.Env.Add(Kube.Env("RUCIO_LONGITUDE", longitude));
    }

    /// <summary>
    /// Only the gateway's port is open to users' pods (notebooks and Dask workers carry the user label); the app's own
    /// port stays open to ServiceX's transformers and finders, which send no token.
    /// </summary>
    private static V1NetworkPolicy AppNetworkPolicy(Kube app, FacilityNames names) => new()
    {
        ApiVersion = "networking.k8s.io/v1",
        Kind = "NetworkPolicy",
        Metadata = app.Meta(names.ServiceXApp),
        Spec = new V1NetworkPolicySpec
        {
            PodSelector = new V1LabelSelector { MatchLabels = app.Selector() },
            PolicyTypes = ["Ingress"],
            Ingress =
            [
                new V1NetworkPolicyIngressRule { Ports = [new V1NetworkPolicyPort { Protocol = "TCP", Port = AuthGateway.Port }] },
                new V1NetworkPolicyIngressRule
                {
                    FromProperty =
                    [
                        new V1NetworkPolicyPeer
                        {
                            PodSelector = new V1LabelSelector
                            {
                                MatchExpressions = [new V1LabelSelectorRequirement { Key = Common.Labels.User, OperatorProperty = "DoesNotExist" }],
                            },
                        },
                    ],
                    Ports = [new V1NetworkPolicyPort { Protocol = "TCP", Port = AppPort }],
                },
            ],
        },
    };

    /// <summary>The Flask app.conf; secrets and connection URIs come from the environment, as the chart does with `secrets`.</summary>
    public static string AppConfig(FacilityResource facility)
    {
        var servicex = facility.Spec.ServiceX;
        var names = new FacilityNames(facility.Metadata.Name);
        var config = new StringBuilder();
        config.AppendLine($"INSTANCE_NAME = {Python.Str(facility.Metadata.Name)}");
        config.AppendLine($"APP_IMAGE_TAG = {Python.Str(servicex.ImageTag)}");
        // servicex_app README "User Management" and the chart's app/configmap.yaml: with ENABLE_AUTH, Globus sign-in,
        // JWT_ADMIN's first sign-up becomes admin, other users stay pending until approved (/pending, /accept), and
        // API tokens are flask-jwt-extended JWTs signed with JWT_SECRET_KEY (from the environment here). Without it the
        // facility token gateway in front of the app refuses requests that carry no facility token.
        config.AppendLine($"ENABLE_AUTH = {Python.Literal(servicex.AuthEnabled)}");
        config.AppendLine($"JWT_ADMIN = {Python.Str(servicex.AdminEmail ?? "")}");
        // The chart's defaults: refresh (API) tokens do not expire; access tokens live app.authExpires seconds.
        config.AppendLine("JWT_REFRESH_TOKEN_EXPIRES = False");
        config.AppendLine($"JWT_ACCESS_TOKEN_EXPIRES = {servicex.AccessTokenLifetimeSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        config.AppendLine("SQLALCHEMY_TRACK_MODIFICATIONS = False");
        // Where transformers report back: the internal Service, never the public host (they carry no token).
        config.AppendLine($"ADVERTISED_HOSTNAME = {Python.Str($"{names.ServiceXInternal}:{ServicePort}")}");
        config.AppendLine($"TRANSFORMER_NAMESPACE = {Python.Str(facility.Metadata.NamespaceProperty)}");
        config.AppendLine("TRANSFORMER_MANAGER_ENABLED = True");
        config.AppendLine("TRANSFORMER_MANAGER_MODE = 'internal-kubernetes'");
        config.AppendLine("OBJECT_STORE_ENABLED = True");
        var store = servicex.ExternalObjectStore;
        config.AppendLine($"MINIO_ENCRYPT = {Python.Literal(store?.Secure ?? false)}");
        config.AppendLine($"MINIO_PUBLIC_URL = {Python.Str(store?.Endpoint ?? $"{names.ServiceXMinio}:9000")}");
        var codeGenUrls = servicex.CodeGenerators.ToDictionary(g => g, g => (object?)$"http://{names.ServiceXCodeGen(g)}:{CodeGenPort}");
        config.AppendLine($"CODE_GEN_SERVICE_URLS = {Python.Literal(codeGenUrls)}");
        var finders = DeployedDidFinders(facility.Spec);
        config.AppendLine($"DID_FINDER_DEFAULT_SCHEME = {Python.Str(finders.FirstOrDefault() ?? "")}");
        config.AppendLine($"VALID_DID_SCHEMES = {Python.Literal(finders)}");
        return config.ToString();
    }
}
