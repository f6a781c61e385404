using System.Globalization;
using AnalysisFacility.Operator.Api.V1Alpha1;
using k8s;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Builders.Facility;

/// <summary>NVIDIA Triton inference server with its model repository in an S3 bucket.</summary>
public static class TritonBuilder
{
    public const string Component = "triton";
    public const string ConditionType = "TritonReady";
    public const int HttpPort = 8000;
    public const int GrpcPort = 8001;
    public const int MetricsPort = 8002;

    public static IReadOnlyList<string> Validate(AnalysisFacilitySpec spec)
    {
        var triton = spec.Triton;
        if (!triton.Enabled) return [];
        var bucket = triton.ModelRepository;
        if (bucket is null || string.IsNullOrEmpty(bucket.Bucket) || string.IsNullOrEmpty(bucket.Host))
            return ["spec.triton.modelRepository (host, port, bucket, credentialsSecret) is required when Triton is enabled: Triton loads its models from that S3 bucket"];
        if (string.IsNullOrEmpty(bucket.CredentialsSecret))
            return ["spec.triton.modelRepository.credentialsSecret must name a Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"];
        if (triton.UserCredentialsSecret == bucket.CredentialsSecret)
            return ["spec.triton.userCredentialsSecret must be a Secret of its own: the server's credentialsSecret would hand the server's key to every user"];
        return [];
    }

    /// <summary>Triton's S3 repository path: s3://host:port/bucket, with https:// before the host for TLS (Triton's docs).</summary>
    public static string ModelRepositoryPath(S3BucketSpec bucket) =>
        $"s3://{(bucket.Secure ? "https://" : "")}{bucket.Host}:{bucket.Port.ToString(CultureInfo.InvariantCulture)}/{bucket.Bucket}";

    public static string Url(FacilityResource facility) =>
        $"http://{new FacilityNames(facility.Metadata.Name).Triton}.{facility.Metadata.NamespaceProperty}.svc:{HttpPort}";

    public static ComponentObjects Build(FacilityResource facility)
    {
        var triton = facility.Spec.Triton;
        if (!triton.Enabled) return ComponentObjects.Disabled(Component, ConditionType);
        var errors = Validate(facility.Spec);
        if (errors.Count > 0) return ComponentObjects.Invalid(Component, ConditionType, errors);

        var bucket = triton.ModelRepository!;
        var kube = new Kube(facility, "triton", Component);
        var names = new FacilityNames(kube.Facility);
        var container = new V1Container
        {
            Name = "tritonserver",
            Image = triton.Image,
            Command = ["tritonserver", $"--model-repository={ModelRepositoryPath(bucket)}"],
            Env =
            [
                Kube.EnvFromSecret("AWS_ACCESS_KEY_ID", bucket.CredentialsSecret, "AWS_ACCESS_KEY_ID"),
                Kube.EnvFromSecret("AWS_SECRET_ACCESS_KEY", bucket.CredentialsSecret, "AWS_SECRET_ACCESS_KEY"),
            ],
            Ports =
            [
                new V1ContainerPort { Name = "http", ContainerPort = HttpPort },
                new V1ContainerPort { Name = "grpc", ContainerPort = GrpcPort },
                new V1ContainerPort { Name = "metrics", ContainerPort = MetricsPort },
            ],
            ReadinessProbe = Kube.HttpProbe("/v2/health/ready", HttpPort),
            LivenessProbe = Kube.HttpProbe("/v2/health/live", HttpPort, initialDelaySeconds: 30, periodSeconds: 20),
            // Models are loaded before /v2/health/ready answers; large ones take minutes.
            StartupProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Path = "/v2/health/live", Port = HttpPort }, PeriodSeconds = 10, FailureThreshold = 60 },
            Resources = Kube.Resources(triton.Resources),
        };
        var pod = new V1PodSpec { Containers = [container] };
        IReadOnlyList<IKubernetesObject<V1ObjectMeta>> objects =
        [
            kube.Deployment(names.Triton, triton.Replicas, pod),
            kube.Service(names.Triton, Kube.Port("http", HttpPort), Kube.Port("grpc", GrpcPort), Kube.Port("metrics", MetricsPort)),
        ];
        return ComponentObjects.Of(Component, ConditionType, objects);
    }

    /// <summary>
    /// The keys users upload models with, as the facility walkthrough shows them in a session (AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY, read by mc, boto3 and the AWS CLI), by secretKeyRef: never copied into a ConfigMap.
    /// </summary>
    public static IReadOnlyList<V1EnvVar> UserCredentialEnvironment(AnalysisFacilitySpec spec)
    {
        var triton = spec.Triton;
        if (!triton.Enabled || triton.UserCredentialsSecret is not { Length: > 0 } secret || Validate(spec).Count > 0) return [];
        return
        [
            Kube.EnvFromSecret("AWS_ACCESS_KEY_ID", secret, "AWS_ACCESS_KEY_ID"),
            Kube.EnvFromSecret("AWS_SECRET_ACCESS_KEY", secret, "AWS_SECRET_ACCESS_KEY"),
        ];
    }
}
