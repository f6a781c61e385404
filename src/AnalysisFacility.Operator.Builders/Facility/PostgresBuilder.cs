using k8s;
using k8s.Models;

namespace AnalysisFacility.Operator.Builders.Facility;

/// <summary>A single PostgreSQL (StatefulSet + Service + generated password Secret) for a component's database.</summary>
internal static class PostgresBuilder
{
    public const string Image = "postgres:16.4";
    public const int Port = 5432;
    public const string PasswordKey = "postgres-password";

    /// <summary>The objects, plus a connection URI that expands $(PGPASSWORD) from an env var of the same name.</summary>
    public static IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Build(Kube kube, string name, string secretName, string database,
        string user, string storageSize, string? storageClass, bool retain, FacilityContext context)
    {
        var pod = new V1PodSpec
        {
            Containers =
            [
                new V1Container
                {
                    Name = "postgresql",
                    Image = Image,
                    Env =
                    [
                        Kube.Env("POSTGRES_USER", user),
                        Kube.Env("POSTGRES_DB", database),
                        Kube.EnvFromSecret("POSTGRES_PASSWORD", secretName, PasswordKey),
                        // A subdirectory: the volume root may hold lost+found, which initdb refuses.
                        Kube.Env("PGDATA", "/var/lib/postgresql/data/pgdata"),
                    ],
                    Ports = [new V1ContainerPort { Name = "postgresql", ContainerPort = Port }],
                    ReadinessProbe = Kube.ExecProbe("pg_isready", "-U", user, "-d", database),
                    VolumeMounts = [new V1VolumeMount { Name = "data", MountPath = "/var/lib/postgresql/data" }],
                },
            ],
        };
        return
        [
            kube.Secret(secretName, new Dictionary<string, byte[]> { [PasswordKey] = context.KeepOrGenerate(secretName, PasswordKey) }),
            kube.StatefulSet(name, name, pod, kube.ClaimTemplate("data", storageSize, storageClass, retain), retain),
            kube.Service(name, Kube.Port("postgresql", Port)),
        ];
    }

    /// <summary>A URI referencing the password through Kubernetes' $(VAR) expansion of an earlier env var.</summary>
    public static string Uri(Kube kube, string name, string user, string database, string passwordVariable) =>
        $"postgresql://{user}:$({passwordVariable})@{kube.ServiceHost(name)}:{Port}/{database}";
}
