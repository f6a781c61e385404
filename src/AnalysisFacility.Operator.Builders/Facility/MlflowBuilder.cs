using System.Globalization;
using AnalysisFacility.Operator.Api.V1Alpha1;
using k8s;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Builders.Facility;

/// <summary>
/// MLflow tracking server with a PostgreSQL backend store (created or referenced) and an S3 artifact store, behind the
/// facility token gateway (<see cref="AuthGateway"/>): the server listens on the pod's loopback, and its Service and
/// Ingress reach the gateway, which only passes requests with a facility token. The MLflow client sends
/// MLFLOW_TRACKING_TOKEN as "Authorization: Bearer" (mlflow.org docs, tracking server authentication).
/// </summary>
public static class MlflowBuilder
{
    public const string Component = "mlflow";
    public const string ConditionType = "MlflowReady";
    /// <summary>The Service's port (what MLFLOW_TRACKING_URI and the Ingress name); it forwards to the gateway.</summary>
    public const int Port = 5000;
    /// <summary>The tracking server's own port, on the pod's loopback only.</summary>
    public const int ServerPort = 5000;
    /// <summary>MLflow's health endpoint, the gateway's only open path (it answers "OK" and tells nothing of experiments).</summary>
    public const string HealthPath = "/health";
    /// <summary>Hash of the gateway configuration: httpd reads it at start, so a change rolls the pod.</summary>
    public const string AuthGatewayConfigAnnotation = "analysisfacility.io/auth-gateway-config";
    public const string DatabaseName = "mlflow";
    public const string DatabaseUser = "mlflow";

    public static IReadOnlyList<string> Validate(AnalysisFacilitySpec spec)
    {
        var mlflow = spec.Mlflow;
        if (!mlflow.Enabled) return [];
        var errors = new List<string>();
        if (mlflow.ArtifactStore is null || string.IsNullOrEmpty(mlflow.ArtifactStore.Bucket))
            errors.Add("spec.mlflow.artifactStore (host, port, bucket, credentialsSecret) is required when MLflow is enabled");
        if (mlflow.BackendStore.ExternalUriSecretRef is { } uri && (string.IsNullOrEmpty(uri.Name) || string.IsNullOrEmpty(uri.Key)))
            errors.Add("spec.mlflow.backendStore.externalUriSecretRef needs both name and key");
        if (AuthGateway.Problem(spec, "MLflow") is { } gateway) errors.Add(gateway);
        return errors;
    }

    public static string Url(FacilityResource facility) => facility.Spec.Mlflow.Host is { } host
        ? $"https://{host}"
        : $"http://{new FacilityNames(facility.Metadata.Name).Mlflow}.{facility.Metadata.NamespaceProperty}.svc:{Port}";

    public static ComponentObjects Build(FacilityResource facility, FacilityContext context)
    {
        var mlflow = facility.Spec.Mlflow;
        if (!mlflow.Enabled) return ComponentObjects.Disabled(Component, ConditionType);
        var errors = Validate(facility.Spec);
        if (errors.Count > 0) return ComponentObjects.Invalid(Component, ConditionType, errors);

        var kube = new Kube(facility, "mlflow", Component);
        var names = new FacilityNames(kube.Facility);
        var objects = new List<IKubernetesObject<V1ObjectMeta>>();
        var env = new List<V1EnvVar>();
        if (mlflow.BackendStore.ExternalUriSecretRef is { } external)
        {
            env.Add(Kube.EnvFromSecret("MLFLOW_BACKEND_STORE_URI", external.Name, external.Key));
        }
        else
        {
            var db = new Kube(facility, "mlflow", "database");
            objects.AddRange(PostgresBuilder.Build(db, names.MlflowDatabase, names.MlflowDatabase, DatabaseName, DatabaseUser,
                mlflow.BackendStore.StorageSize, null, mlflow.BackendStore.RetainStorage, context));
            env.Add(Kube.EnvFromSecret("PGPASSWORD", names.MlflowDatabase, PostgresBuilder.PasswordKey));
            env.Add(Kube.Env("MLFLOW_BACKEND_STORE_URI", PostgresBuilder.Uri(db, names.MlflowDatabase, DatabaseUser, DatabaseName, "PGPASSWORD")));
        }
        var bucket = mlflow.ArtifactStore!;
        env.Add(Kube.Env("MLFLOW_S3_ENDPOINT_URL", $"{(bucket.Secure ? "https" : "http")}://{bucket.Host}:{bucket.Port.ToString(CultureInfo.InvariantCulture)}"));
        env.Add(Kube.EnvFromSecret("AWS_ACCESS_KEY_ID", bucket.CredentialsSecret, "AWS_ACCESS_KEY_ID"));
        env.Add(Kube.EnvFromSecret("AWS_SECRET_ACCESS_KEY", bucket.CredentialsSecret, "AWS_SECRET_ACCESS_KEY"));

        var container = new V1Container
        {
            Name = "mlflow",
            Image = mlflow.Image,
            // The server proxies artifacts (--artifacts-destination), so clients need no S3 credentials. Loopback only:
            // everything from outside the pod comes through the gateway (mlflow.org self-hosting/security: "mlflow
            // server --host 127.0.0.1" behind a proxy).
            Command =
            [
                "mlflow", "server",
                "--host", "127.0.0.1", "--port", ServerPort.ToString(CultureInfo.InvariantCulture),
                "--backend-store-uri", "$(MLFLOW_BACKEND_STORE_URI)",
                "--artifacts-destination", $"s3://{bucket.Bucket}",
            ],
            Env = env,
            // Probes reach the server's /health through the gateway's open path (the server is on loopback).
            ReadinessProbe = Kube.HttpProbe(HealthPath, AuthGateway.Port),
            LivenessProbe = Kube.HttpProbe(HealthPath, AuthGateway.Port, initialDelaySeconds: 30, periodSeconds: 20),
        };
        var gatewayConfig = names.MlflowGateway;
        var httpdConfig = AuthGateway.HttpdConfig(AuthGateway.For(facility, ServerPort, HealthPath));
        objects.Add(kube.ConfigMap(gatewayConfig, new Dictionary<string, string> { [AuthGateway.ConfigKey] = httpdConfig }));
        var gateway = AuthGateway.Container(facility, gatewayConfig, HealthPath, out var gatewayVolumes);
        var configHash = Common.Hashes.Of([httpdConfig]);
        objects.Add(kube.Deployment(names.Mlflow, 1, new V1PodSpec { Containers = [container, gateway], Volumes = [.. gatewayVolumes] },
            podAnnotations: new Dictionary<string, string> { [AuthGatewayConfigAnnotation] = configHash }));
        objects.Add(kube.Service(names.Mlflow, Kube.Port("http", Port, AuthGateway.Port)));
        if (mlflow.Host is { } host)
        {
            objects.Add(kube.Ingress(names.Mlflow, host, names.Mlflow, Port, facility.Spec.Hub.TlsSecretName, facility.Spec.Hub.IngressClassName));
        }
        return ComponentObjects.Of(Component, ConditionType, objects);
    }
}
