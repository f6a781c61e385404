using System.Globalization;
using AnalysisFacility.Operator.Api.V1Alpha1;
using k8s;
using k8s.Models;

namespace AnalysisFacility.Operator.Builders.Facility;

/// <summary>MLflow tracking server with a PostgreSQL backend store (created or referenced) and an S3 artifact store.</summary>
public static class MlflowBuilder
{
    public const string Component = "mlflow";
    public const string ConditionType = "MlflowReady";
    public const int Port = 5000;
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
        return errors;
    }

    public static string Url(Api.V1Alpha1.AnalysisFacility facility) => facility.Spec.Mlflow.Host is { } host
        ? $"https://{host}"
        : $"http://{new FacilityNames(facility.Metadata.Name).Mlflow}.{facility.Metadata.NamespaceProperty}.svc:{Port}";

    public static ComponentObjects Build(Api.V1Alpha1.AnalysisFacility facility, FacilityContext context)
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
            // The server proxies artifacts (--artifacts-destination), so clients need no S3 credentials.
            Command =
            [
                "mlflow", "server",
                "--host", "0.0.0.0", "--port", Port.ToString(CultureInfo.InvariantCulture),
                "--backend-store-uri", "$(MLFLOW_BACKEND_STORE_URI)",
                "--artifacts-destination", $"s3://{bucket.Bucket}",
            ],
            Env = env,
            Ports = [new V1ContainerPort { Name = "http", ContainerPort = Port }],
            ReadinessProbe = Kube.HttpProbe("/health", Port),
            LivenessProbe = Kube.HttpProbe("/health", Port, initialDelaySeconds: 30, periodSeconds: 20),
        };
        objects.Add(kube.Deployment(names.Mlflow, 1, new V1PodSpec { Containers = [container] }));
        objects.Add(kube.Service(names.Mlflow, Kube.Port("http", Port)));
        if (mlflow.Host is { } host)
        {
            objects.Add(kube.Ingress(names.Mlflow, host, names.Mlflow, Port, facility.Spec.Hub.TlsSecretName, facility.Spec.Hub.IngressClassName));
        }
        return ComponentObjects.Of(Component, ConditionType, objects);
    }
}
