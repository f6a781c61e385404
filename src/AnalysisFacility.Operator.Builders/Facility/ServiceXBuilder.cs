using System.Text;
using AnalysisFacility.Operator.Api.V1Alpha1;
using k8s;
using k8s.Models;

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
        if (servicex.AuthEnabled && string.IsNullOrEmpty(servicex.AdminEmail))
            errors.Add("spec.serviceX.adminEmail is required when spec.serviceX.authEnabled is true (ServiceX makes that user its first admin)");
        return errors;
    }

    public static string Url(Api.V1Alpha1.AnalysisFacility facility) => facility.Spec.ServiceX.Host is { } host
        ? $"https://{host}"
        : $"http://{new FacilityNames(facility.Metadata.Name).ServiceXApp}.{facility.Metadata.NamespaceProperty}.svc:{ServicePort}";

    /// <summary>The <c>servicex.yaml</c> a session gets: the facility's endpoint as the default.</summary>
    public static string ClientConfig(Api.V1Alpha1.AnalysisFacility facility)
    {
        var name = facility.Metadata.Name;
        var text = new StringBuilder();
        text.AppendLine("api_endpoints:");
        text.AppendLine($"  - name: {Yaml(name)}");
        text.AppendLine($"    endpoint: {Yaml(Url(facility))}");
        // With ServiceX's own auth the user pastes the refresh token ServiceX issued them; WLCG tokens are not accepted.
        text.AppendLine("    token: \"\"");
        text.AppendLine($"default_endpoint: {Yaml(name)}");
        text.AppendLine("cache_path: /tmp/servicex_cache");
        return text.ToString();
    }

    private static string Yaml(string value) => System.Text.Json.JsonSerializer.Serialize(value);

    public static ComponentObjects Build(Api.V1Alpha1.AnalysisFacility facility, FacilityContext context)
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

        objects.Add(app.Deployment(names.ServiceXApp, 1, new V1PodSpec
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
        }));
        objects.Add(app.Service(names.ServiceXApp, Kube.Port("http", ServicePort, AppPort)));
        if (servicex.Host is { } host)
        {
            objects.Add(app.Ingress(names.ServiceXApp, host, names.ServiceXApp, ServicePort, facility.Spec.Hub.TlsSecretName, facility.Spec.Hub.IngressClassName));
        }

        foreach (var finder in servicex.DidFinders)
        {
            var kube = new Kube(facility, "servicex", $"did-finder-{finder}");
            objects.Add(kube.Deployment(names.ServiceXDidFinder(finder), 1, new V1PodSpec
            {
                Containers =
                [
                    new V1Container
                    {
                        Name = "did-finder", Image = $"sslhep/servicex-did-finder-{finder}:{servicex.ImageTag}",
                        Env = [Kube.EnvFromSecret("RMQ_PASS", secret, "rabbitmq-password"), Kube.Env("RMQ_URI", rabbitUri), Kube.Env("BROKER_URL", rabbitUri)],
                    },
                ],
            }));
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
        return ComponentObjects.Of(Component, ConditionType, objects);
    }

    /// <summary>The Flask app.conf; secrets and connection URIs come from the environment, as the chart does with `secrets`.</summary>
    public static string AppConfig(Api.V1Alpha1.AnalysisFacility facility)
    {
        var servicex = facility.Spec.ServiceX;
        var names = new FacilityNames(facility.Metadata.Name);
        var config = new StringBuilder();
        config.AppendLine($"INSTANCE_NAME = {Python.Str(facility.Metadata.Name)}");
        config.AppendLine($"APP_IMAGE_TAG = {Python.Str(servicex.ImageTag)}");
        config.AppendLine("# ServiceX issues its own tokens when auth is on; it does not accept WLCG JWTs.");
        config.AppendLine($"ENABLE_AUTH = {Python.Literal(servicex.AuthEnabled)}");
        config.AppendLine($"JWT_ADMIN = {Python.Str(servicex.AdminEmail ?? "")}");
        config.AppendLine("SQLALCHEMY_TRACK_MODIFICATIONS = False");
        config.AppendLine($"ADVERTISED_HOSTNAME = {Python.Str(servicex.Host ?? $"{names.ServiceXApp}:{ServicePort}")}");
        config.AppendLine($"TRANSFORMER_NAMESPACE = {Python.Str(facility.Metadata.NamespaceProperty)}");
        config.AppendLine("TRANSFORMER_MANAGER_ENABLED = True");
        config.AppendLine("TRANSFORMER_MANAGER_MODE = 'internal-kubernetes'");
        config.AppendLine("OBJECT_STORE_ENABLED = True");
        var store = servicex.ExternalObjectStore;
        config.AppendLine($"MINIO_ENCRYPT = {Python.Literal(store?.Secure ?? false)}");
        config.AppendLine($"MINIO_PUBLIC_URL = {Python.Str(store?.Endpoint ?? $"{names.ServiceXMinio}:9000")}");
        var codeGenUrls = servicex.CodeGenerators.ToDictionary(g => g, g => (object?)$"http://{names.ServiceXCodeGen(g)}:{CodeGenPort}");
        config.AppendLine($"CODE_GEN_SERVICE_URLS = {Python.Literal(codeGenUrls)}");
        config.AppendLine($"DID_FINDER_DEFAULT_SCHEME = {Python.Str(servicex.DidFinders.FirstOrDefault() ?? "")}");
        config.AppendLine($"VALID_DID_SCHEMES = {Python.Literal(servicex.DidFinders)}");
        return config.ToString();
    }
}
