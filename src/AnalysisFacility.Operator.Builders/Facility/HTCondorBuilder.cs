using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using AnalysisFacility.Operator.Api.V1Alpha1;
using k8s;
using k8s.Models;

namespace AnalysisFacility.Operator.Builders.Facility;

/// <summary>
/// The HTCondor pool: central manager (collector + negotiator), schedd with a spool PVC, execute nodes, one
/// ConfigMap with the configuration of every role, and the pool signing key. Daemons authenticate to each other
/// with the pool key (PASSWORD/IDTOKENS); users reach the schedd with WLCG tokens (SCITOKENS) mapped by issuer and subject.
/// </summary>
public static partial class HTCondorBuilder
{
    public const string Component = "htcondor";
    public const string ConditionType = "HTCondorReady";
    public const int Port = 9618;
    public const string PoolKeyName = "POOL";
    public const string ConfigDirectory = "/etc/condor/config.d";
    public const string PasswordDirectory = "/etc/condor/passwords.d";
    public const string MapFileDirectory = "/etc/condor/mapfiles";
    public const string MapFile = MapFileDirectory + "/" + MapFileKey;

    /// <summary>
    /// Runs condor_master in the foreground and sends it SIGHUP (HTCondor's reconfig, passed on to its daemons, which
    /// re-read CERTIFICATE_MAPFILE) when the kubelet has updated the map file; SIGTERM from the kubelet goes to the master.
    /// </summary>
    public static string MasterScript(string mapFile = MapFile, int checkSeconds = 30) => string.Join('\n',
        "condor_master -f &",
        "master=$!",
        "trap 'kill -TERM $master' TERM INT",
        $"seen=$(cksum < {mapFile} 2>/dev/null)",
        "while kill -0 $master 2>/dev/null; do",
        $"  sleep {checkSeconds} & wait $!",
        $"  now=$(cksum < {mapFile} 2>/dev/null)",
        "  if [ \"$now\" != \"$seen\" ]; then seen=$now; kill -HUP $master; fi",
        "done",
        "wait $master");
    public const string CommonConfigKey = "00-pool.conf";
    public const string CentralManagerConfigKey = "10-central-manager.conf";
    public const string ScheddConfigKey = "10-submit.conf";
    public const string ExecuteConfigKey = "10-execute.conf";
    public const string MapFileKey = "scitokens.map";

    /// <summary>The audience the schedd accepts: spec value, or its Service address.</summary>
    public static string ScheddAudience(Api.V1Alpha1.AnalysisFacility facility) =>
        facility.Spec.HTCondor.Schedd.Audience
        ?? $"{new FacilityNames(facility.Metadata.Name).Schedd}.{facility.Metadata.NamespaceProperty}.svc:{Port}";

    public static string CollectorAddress(Api.V1Alpha1.AnalysisFacility facility) =>
        $"{new FacilityNames(facility.Metadata.Name).CentralManager}.{facility.Metadata.NamespaceProperty}.svc:{Port}";

    public static IReadOnlyList<string> Validate(AnalysisFacilitySpec spec)
    {
        var errors = new List<string>();
        if (!spec.HTCondor.Enabled) return errors;
        if (spec.HTCondor.Execute.Resources?.Gpus is > 0 && string.IsNullOrEmpty(spec.HTCondor.Execute.Resources.Cpu))
            errors.Add("spec.htcondor.execute.resources.cpu is required when GPUs are requested (the slot is sized from it)");
        return errors;
    }

    public static ComponentObjects Build(Api.V1Alpha1.AnalysisFacility facility, FacilityContext context)
    {
        var condor = facility.Spec.HTCondor;
        if (!condor.Enabled) return ComponentObjects.Disabled(Component, ConditionType);
        var errors = Validate(facility.Spec);
        if (errors.Count > 0) return ComponentObjects.Invalid(Component, ConditionType, errors);

        var names = new FacilityNames(facility.Metadata.Name);
        var config = Kube(facility, "pool");
        var cm = Kube(facility, "central-manager");
        var schedd = Kube(facility, "schedd");
        var execute = Kube(facility, "execute");
        var objects = new List<IKubernetesObject<V1ObjectMeta>>
        {
            config.ConfigMap(names.CondorConfig, GenerateConfig(facility, context)),
            config.Secret(names.CondorPoolPassword, new Dictionary<string, byte[]>
            {
                [PoolKeyName] = context.KeepOrGenerate(names.CondorPoolPassword, PoolKeyName, 64),
            }),
            cm.Deployment(names.CentralManager, 1, Pod(facility, names, CentralManagerConfigKey, condor.CentralManager.Resources)),
            cm.Service(names.CentralManager, Facility.Kube.Port("condor", Port)),
            SpoolStatefulSet(facility, schedd, names),
            schedd.Service(names.Schedd, Facility.Kube.Port("condor", Port)),
            execute.Deployment(names.Execute, condor.Execute.Replicas, Pod(facility, names, ExecuteConfigKey, condor.Execute.Resources)),
        };
        return ComponentObjects.Of(Component, ConditionType, objects);
    }

    private static Kube Kube(Api.V1Alpha1.AnalysisFacility facility, string role) => new(facility, "htcondor", role);

    /// <summary>The one ConfigMap: common pool settings, a file per role, and the SCITOKENS map file.</summary>
    public static Dictionary<string, string> GenerateConfig(Api.V1Alpha1.AnalysisFacility facility, FacilityContext context)
    {
        var condor = facility.Spec.HTCondor;
        var names = new FacilityNames(facility.Metadata.Name);
        var uidDomain = facility.Spec.Domain ?? $"{facility.Metadata.Name}.{facility.Metadata.NamespaceProperty}";

        var common = new StringBuilder();
        common.AppendLine("# HTCondor pool configuration generated by analysisfacility-operator (shared by every role).");
        common.AppendLine($"CONDOR_HOST = {names.CentralManager}.{facility.Metadata.NamespaceProperty}.svc");
        common.AppendLine($"COLLECTOR_HOST = $(CONDOR_HOST):{Port}");
        common.AppendLine($"UID_DOMAIN = {uidDomain}");
        common.AppendLine("TRUST_UID_DOMAIN = True");
        common.AppendLine("USE_SHARED_PORT = True");
        common.AppendLine($"SHARED_PORT_PORT = {Port}");
        common.AppendLine("# Pods get new addresses on restart: advertise the pod IP, never a stale host name.");
        common.AppendLine("NETWORK_INTERFACE = *");
        common.AppendLine();
        common.AppendLine("# Security: everything authenticated, encrypted and integrity checked.");
        common.AppendLine("SEC_DEFAULT_AUTHENTICATION = REQUIRED");
        common.AppendLine("SEC_DEFAULT_ENCRYPTION = REQUIRED");
        common.AppendLine("SEC_DEFAULT_INTEGRITY = REQUIRED");
        common.AppendLine("SEC_READ_AUTHENTICATION = OPTIONAL");
        common.AppendLine("# Daemons prove pool membership with the shared pool key (PASSWORD, and IDTOKENS signed by it).");
        common.AppendLine($"SEC_PASSWORD_DIRECTORY = {PasswordDirectory}");
        common.AppendLine($"SEC_TOKEN_POOL_SIGNING_KEY_FILE = {PasswordDirectory}/{PoolKeyName}");
        common.AppendLine("SEC_DAEMON_AUTHENTICATION_METHODS = FS, IDTOKENS, PASSWORD");
        common.AppendLine("SEC_NEGOTIATOR_AUTHENTICATION_METHODS = FS, IDTOKENS, PASSWORD");
        common.AppendLine("SEC_ADVERTISE_STARTD_AUTHENTICATION_METHODS = FS, IDTOKENS, PASSWORD");
        common.AppendLine("SEC_ADVERTISE_SCHEDD_AUTHENTICATION_METHODS = FS, IDTOKENS, PASSWORD");
        common.AppendLine("# Users: WLCG tokens from the facility's issuer (SCITOKENS); local tools use FS.");
        common.AppendLine("SEC_DEFAULT_AUTHENTICATION_METHODS = FS, SCITOKENS, IDTOKENS, PASSWORD");
        common.AppendLine("SEC_CLIENT_AUTHENTICATION_METHODS = FS, SCITOKENS, IDTOKENS, PASSWORD");
        common.AppendLine($"CERTIFICATE_MAPFILE = {MapFile}");
        common.AppendLine();
        common.AppendLine("# Authorization: pool daemons are condor_pool@$(UID_DOMAIN); users are mapped to <user>@$(UID_DOMAIN).");
        common.AppendLine("ALLOW_READ = *");
        common.AppendLine("ALLOW_WRITE = *@$(UID_DOMAIN)");
        common.AppendLine("ALLOW_DAEMON = condor_pool@$(UID_DOMAIN), condor@$(UID_DOMAIN)");
        common.AppendLine("ALLOW_NEGOTIATOR = condor_pool@$(UID_DOMAIN)");
        common.AppendLine("ALLOW_ADMINISTRATOR = condor_pool@$(UID_DOMAIN)");
        common.AppendLine("ALLOW_ADVERTISE_STARTD = condor_pool@$(UID_DOMAIN)");
        common.AppendLine("ALLOW_ADVERTISE_SCHEDD = condor_pool@$(UID_DOMAIN)");
        common.AppendLine("DENY_WRITE = anonymous@*");
        common.AppendLine("DENY_ADMINISTRATOR = anonymous@*");

        var centralManager = new StringBuilder();
        centralManager.AppendLine("# Central manager: collector and negotiator.");
        centralManager.AppendLine("use ROLE : CentralManager");

        var submit = new StringBuilder();
        submit.AppendLine("# Submit node: the schedd users reach with their tokens.");
        submit.AppendLine("use ROLE : Submit");
        submit.AppendLine($"SCITOKENS_SERVER_AUDIENCE = {ScheddAudience(facility)}");
        submit.AppendLine("SPOOL = /var/lib/condor/spool");

        var executeText = new StringBuilder();
        executeText.AppendLine("# Execute node: the startd advertises what the pod was given, not the whole host.");
        executeText.AppendLine("use ROLE : Execute");
        var resources = condor.Execute.Resources;
        if (resources?.Cpu is { Length: > 0 } cpu) executeText.AppendLine($"NUM_CPUS = {Cores(cpu)}");
        if (resources?.Memory is { Length: > 0 } memory) executeText.AppendLine($"MEMORY = {MemoryMegabytes(memory)}");
        if (condor.Execute.PartitionableSlots)
        {
            executeText.AppendLine("use FEATURE : PartitionableSlot");
        }
        else
        {
            executeText.AppendLine("# Static slots: one per core.");
            executeText.AppendLine("NUM_SLOTS = $(NUM_CPUS)");
        }
        executeText.AppendLine("# Jobs run inside the pod; there is no other user on it.");
        executeText.AppendLine("STARTER_ALLOW_RUNAS_OWNER = False");
        executeText.AppendLine("SLOT_USER = nobody");

        return new Dictionary<string, string>
        {
            [CommonConfigKey] = common.ToString(),
            [CentralManagerConfigKey] = centralManager.ToString(),
            [ScheddConfigKey] = submit.ToString(),
            [ExecuteConfigKey] = executeText.ToString(),
            [MapFileKey] = GenerateMapFile(context.ScitokensIssuer ?? facility.Spec.Tokens.Issuer, context.ScitokensIdentities, uidDomain),
        };
    }

    /// <summary>
    /// The unified map file: each (issuer, subject) the issuer minted maps to its hub user. Only exact, anchored
    /// matches are written, so a token from the same issuer with another subject maps to nobody.
    /// </summary>
    public static string GenerateMapFile(string issuer, IReadOnlyList<ScitokensIdentity> identities, string uidDomain)
    {
        var text = new StringBuilder();
        text.AppendLine("# SCITOKENS identities are '<issuer>,<subject>'; map each to its user.");
        foreach (var identity in identities.OrderBy(i => i.Subject, StringComparer.Ordinal))
        {
            var user = SafeUser().Replace(identity.User, "_");
            text.AppendLine($"SCITOKENS /^{EscapeRegex(issuer)},{EscapeRegex(identity.Subject)}$/ {user}@{uidDomain}");
        }
        text.AppendLine("# Local tools inside the pods keep their Unix identity.");
        text.AppendLine("FS (.*) \\1");
        return text.ToString();
    }

    /// <summary>Escapes a literal for an HTCondor map-file regex (PCRE between slashes).</summary>
    public static string EscapeRegex(string literal)
    {
        var builder = new StringBuilder();
        foreach (var c in literal)
        {
            if ("\\^$.|?*+()[]{}/:-".Contains(c)) builder.Append('\\');
            builder.Append(c);
        }
        return builder.ToString();
    }

    [GeneratedRegex("[^A-Za-z0-9._-]")]
    private static partial Regex SafeUser();

    private static long Cores(string cpu)
    {
        var value = new ResourceQuantity(cpu).ToDecimal();
        return Math.Max(1, (long)Math.Floor(value));
    }

    private static long MemoryMegabytes(string memory) =>
        (long)Math.Floor(new ResourceQuantity(memory).ToDecimal() / (1024 * 1024));

    private static V1PodSpec Pod(Api.V1Alpha1.AnalysisFacility facility, FacilityNames names, string roleKey, ComputeResources? resources) => new()
    {
        Containers =
        [
            new V1Container
            {
                Name = "condor",
                Image = facility.Spec.HTCondor.Image,
                // condor_master in the foreground (the pod lives as long as the daemons), reconfigured when the map changes.
                Command = ["/bin/sh", "-c", MasterScript()],
                Ports = [new V1ContainerPort { Name = "condor", ContainerPort = Port }],
                Resources = Facility.Kube.Resources(resources),
                ReadinessProbe = Facility.Kube.ExecProbe("condor_who", "-quick"),
                VolumeMounts =
                [
                    new V1VolumeMount { Name = "config", MountPath = $"{ConfigDirectory}/{CommonConfigKey}", SubPath = CommonConfigKey, ReadOnlyProperty = true },
                    new V1VolumeMount { Name = "config", MountPath = $"{ConfigDirectory}/{roleKey}", SubPath = roleKey, ReadOnlyProperty = true },
                    // A directory mount, not subPath: the kubelet only updates files of directory mounts, and the map grows
                    // with every user who logs in.
                    new V1VolumeMount { Name = "mapfiles", MountPath = MapFileDirectory, ReadOnlyProperty = true },
                    new V1VolumeMount { Name = "pool-password", MountPath = PasswordDirectory, ReadOnlyProperty = true },
                ],
            },
        ],
        Volumes =
        [
            new V1Volume { Name = "config", ConfigMap = new V1ConfigMapVolumeSource { Name = names.CondorConfig } },
            new V1Volume
            {
                Name = "mapfiles",
                ConfigMap = new V1ConfigMapVolumeSource { Name = names.CondorConfig, Items = [new V1KeyToPath { Key = MapFileKey, Path = MapFileKey }] },
            },
            // HTCondor refuses a pool key readable by others.
            new V1Volume { Name = "pool-password", Secret = new V1SecretVolumeSource { SecretName = names.CondorPoolPassword, DefaultMode = 0b110_000_000 } },
        ],
    };

    private static V1StatefulSet SpoolStatefulSet(Api.V1Alpha1.AnalysisFacility facility, Kube kube, FacilityNames names)
    {
        var schedd = facility.Spec.HTCondor.Schedd;
        var pod = Pod(facility, names, ScheddConfigKey, schedd.Resources);
        pod.Containers[0].VolumeMounts.Add(new V1VolumeMount { Name = "spool", MountPath = "/var/lib/condor/spool" });
        var claim = kube.ClaimTemplate("spool", schedd.SpoolSize, schedd.StorageClassName, schedd.RetainSpool);
        return kube.StatefulSet(names.Schedd, names.Schedd, pod, claim, schedd.RetainSpool);
    }
}
