using System.Globalization;
using System.Text;
using AnalysisFacility.Operator.Builders.Certificates;
using AnalysisFacility.Operator.Api.V1Alpha1;
using k8s;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Builders.Facility;

/// <summary>
/// The HTCondor pool: central manager (collector + negotiator), schedd with a spool PVC, execute nodes, one
/// ConfigMap with the configuration of every role, and the pool signing key. Daemons authenticate to each other
/// with the pool key (PASSWORD/IDTOKENS); users reach the schedd with WLCG tokens (SCITOKENS) mapped by issuer and subject.
/// </summary>
public static class HTCondorBuilder
{
    public const string Component = "htcondor";
    public const string ConditionType = "HTCondorReady";
    public const int Port = 9618;
    public const string PoolKeyName = "POOL";
    public const string ConfigDirectory = "/etc/condor/config.d";
    public const string PasswordDirectory = "/etc/condor/passwords.d";
    public const string MapFileDirectory = "/etc/condor/mapfiles";
    public const string MapFile = MapFileDirectory + "/" + MapFileKey;
    /// <summary>Where the pool key Secret is mounted; the start script copies it into <see cref="PasswordDirectory"/>.</summary>
    public const string PoolKeySourceDirectory = "/etc/condor/pool-key";
    /// <summary>
    /// uid/gid of the condor account in the htcondor/base images (build/docker/services/base/container-install-htcondor.sh,
    /// v24.0). The central manager and the schedd run as it, not as root; see <see cref="SubmitSecurityContext"/>.
    /// </summary>
    public const long CondorUid = 64;

    /// <summary>
    /// Runs condor_master in the foreground and sends it SIGHUP (HTCondor's reconfig, passed on to its daemons, which
    /// re-read CERTIFICATE_MAPFILE) when the kubelet has updated the map file; SIGTERM from the kubelet goes to the master.
    /// </summary>
    public static string MasterScript(string mapFile = MapFile, int checkSeconds = 30) => string.Join('\n',
        // read_secure_file wants the pool key owned by the daemons' uid and unreadable by group and others
        // (src/condor_utils/secure_file.cpp, v24.0); Secret volume files are root's, so a private copy is made.
        $"install -m 0600 {PoolKeySourceDirectory}/{PoolKeyName} {PasswordDirectory}/{PoolKeyName}",
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

    /// <summary>
    /// Audiences the facility's issuer adds to every token because the facility configures their consumers itself: its
    /// schedds (in-cluster and external). The one list the facility's minter (robots) and the sessions' minter use.
    /// </summary>
    public static IReadOnlyList<string> IssuerAudiences(FacilityResource facility) =>
        facility.Spec.HTCondor.Enabled ? new[] { ScheddAudience(facility), ExternalScheddAudience(facility) }.OfType<string>().ToList() : [];

    /// <summary>The audience the schedd accepts for tokens of the facility's issuer: spec value, or its Service address.</summary>
    public static string ScheddAudience(FacilityResource facility) =>
        facility.Spec.HTCondor.Schedd.Audience
        ?? $"{new FacilityNames(facility.Metadata.Name).Schedd}.{facility.Metadata.NamespaceProperty}.svc:{ScheddPort(facility)}";

    /// <summary>The schedd's audience for outside clients, &lt;external host&gt;:&lt;schedd port&gt;, when exposed.</summary>
    public static string? ExternalScheddAudience(FacilityResource facility) =>
        facility.Spec.HTCondor.External is { Host.Length: > 0 } external ? $"{external.Host}:{external.ScheddPort}" : null;

    /// <summary>Every audience the schedd accepts (SCITOKENS_SERVER_AUDIENCE): its own, the external one, the trusted issuers'.</summary>
    public static IReadOnlyList<string> ScheddAudiences(FacilityResource facility) =>
        new[] { ScheddAudience(facility), ExternalScheddAudience(facility) }.OfType<string>()
            .Concat(facility.Spec.Tokens.TrustedIssuers.SelectMany(t => t.Audiences))
            .Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Collector port: one port per daemon, inside and outside, since HTCondor advertises the port it listens on.</summary>
    public static int CollectorPort(FacilityResource facility) => facility.Spec.HTCondor.External?.CollectorPort ?? Port;

    public static int ScheddPort(FacilityResource facility) => facility.Spec.HTCondor.External?.ScheddPort ?? Port;

    public static string CollectorAddress(FacilityResource facility) =>
        $"{new FacilityNames(facility.Metadata.Name).CentralManager}.{facility.Metadata.NamespaceProperty}.svc:{CollectorPort(facility)}";

    /// <summary>The collector as outside clients reach it, when exposed.</summary>
    public static string? ExternalCollectorAddress(FacilityResource facility) =>
        facility.Spec.HTCondor.External is { Host.Length: > 0 } external ? $"{external.Host}:{external.CollectorPort}" : null;

    /// <summary>
    /// The schedd's Name in the collector (SCHEDD_NAME; a name with '@' is used as it is, build_valid_daemon_name in
    /// src/condor_utils/get_daemon_name.cpp, v24.0), so clients can set SCHEDD_HOST to it whatever the pod is called.
    /// </summary>
    public static string ScheddName(FacilityResource facility) =>
        $"{new FacilityNames(facility.Metadata.Name).Schedd}@{UidDomain(facility)}";

    public static string UidDomain(FacilityResource facility) =>
        facility.Spec.Domain ?? $"{facility.Metadata.Name}.{facility.Metadata.NamespaceProperty}";

    /// <summary>Every principal the schedd admits: session users and robots of the facility's issuer, and the trusted issuers' mapped subjects.</summary>
    public static IReadOnlyList<PoolPrincipal> Principals(FacilityResource facility, FacilityContext context)
    {
        var issuer = context.ScitokensIssuer ?? facility.Spec.Tokens.Issuer;
        var principals = new List<PoolPrincipal>();
        principals.AddRange(context.ScitokensIdentities.Select(i => new PoolPrincipal(issuer, i.Subject, PoolIdentities.ForHubUser(i.User))));
        principals.AddRange(facility.Spec.Tokens.Robots.Select(r => new PoolPrincipal(issuer, r.ClientId, PoolIdentities.ForRobot(r.ClientId, r.Identity))));
        foreach (var trusted in facility.Spec.Tokens.TrustedIssuers)
        {
            principals.AddRange(trusted.Mappings.Select(m => new PoolPrincipal(trusted.Issuer, m.Subject, m.Identity)));
        }
        return principals;
    }

    public static IReadOnlyList<string> Validate(AnalysisFacilitySpec spec)
    {
        var errors = new List<string>();
        if (!spec.HTCondor.Enabled) return errors;
        if (spec.HTCondor.Execute.Resources?.Gpus is > 0 && string.IsNullOrEmpty(spec.HTCondor.Execute.Resources.Cpu))
            errors.Add("spec.htcondor.execute.resources.cpu is required when GPUs are requested (the slot is sized from it)");
        if (spec.HTCondor.External is { } external)
        {
            if (string.IsNullOrEmpty(external.Host)) errors.Add("spec.htcondor.external.host: the public host name is required");
            if (external.CollectorPort == external.ScheddPort)
                errors.Add("spec.htcondor.external: collectorPort and scheddPort must differ (both are reached at the same host)");
            if (external.ServiceType == "NodePort")
            {
                foreach (var (field, port) in new[] { ("collectorPort", external.CollectorPort), ("scheddPort", external.ScheddPort) })
                {
                    if (port is < 30000 or > 32767)
                        errors.Add($"spec.htcondor.external.{field}: {port} is outside the node port range 30000-32767; with NodePort the daemon listens on the node port it advertises");
                }
            }
        }
        for (var t = 0; t < spec.Tokens.TrustedIssuers.Count; t++)
        {
            var mappings = spec.Tokens.TrustedIssuers[t].Mappings;
            for (var m = 0; m < mappings.Count; m++)
            {
                if (PoolIdentities.Check(mappings[m].Identity, $"spec.tokens.trustedIssuers[{t}].mappings[{m}].identity") is { } problem) errors.Add(problem);
            }
        }
        for (var r = 0; r < spec.Tokens.Robots.Count; r++)
        {
            if (spec.Tokens.Robots[r].Identity is { } identity && PoolIdentities.Check(identity, $"spec.tokens.robots[{r}].identity") is { } problem) errors.Add(problem);
        }
        return errors;
    }

    public static ComponentObjects Build(FacilityResource facility, FacilityContext context)
    {
        var condor = facility.Spec.HTCondor;
        if (!condor.Enabled) return ComponentObjects.Disabled(Component, ConditionType);
        var errors = Validate(facility.Spec);
        if (errors.Count > 0) return ComponentObjects.Invalid(Component, ConditionType, errors);
        var tls = context.CondorTls ?? throw new ArgumentException("the pool needs its SSL certificate (FacilityContext.CondorTls)", nameof(context));

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
            TlsSecret(config, names, tls),
            config.ConfigMap(names.CondorCa, new Dictionary<string, string>
            {
                [LeafSecretData.CaCertificateKey] = System.Text.Encoding.ASCII.GetString(tls[LeafSecretData.CaCertificateKey]),
            }),
            cm.Deployment(names.CentralManager, 1, Pod(facility, names, CentralManagerConfigKey, condor.CentralManager.Resources, CollectorPort(facility), serverTls: true)),
            cm.Service(names.CentralManager, Facility.Kube.Port("condor", CollectorPort(facility))),
            SpoolStatefulSet(facility, schedd, names),
            schedd.Service(names.Schedd, Facility.Kube.Port("condor", ScheddPort(facility))),
            execute.Deployment(names.Execute, condor.Execute.Replicas, Pod(facility, names, ExecuteConfigKey, condor.Execute.Resources, Port, serverTls: false)),
        };
        if (condor.External is { } external)
        {
            objects.Add(ExternalService(cm, names.CentralManagerExternal, external, external.CollectorPort));
            objects.Add(ExternalService(schedd, names.ScheddExternal, external, external.ScheddPort));
        }
        return ComponentObjects.Of(Component, ConditionType, objects);
    }

    private static Kube Kube(FacilityResource facility, string role) => new(facility, "htcondor", role);

    private static V1Secret TlsSecret(Kube kube, FacilityNames names, IDictionary<string, byte[]> data)
    {
        var secret = kube.Secret(names.CondorTls, new Dictionary<string, byte[]>(data));
        secret.Type = "kubernetes.io/tls";
        return secret;
    }

    /// <summary>
    /// The Service outside clients reach one daemon's shared port through. With NodePort the node port is the daemon's
    /// own port: the daemon advertises TCP_FORWARDING_HOST with the port it listens on (Sock::get_sinful_public in
    /// src/condor_io/sock.cpp, v24.0), so what it advertises is what clients can connect to.
    /// </summary>
    private static V1Service ExternalService(Kube kube, string name, HTCondorExternalSpec external, int port)
    {
        var nodePort = external.ServiceType == "NodePort";
        var service = kube.Service(name, new V1ServicePort { Name = "condor", Port = port, TargetPort = port, Protocol = "TCP", NodePort = nodePort ? port : null });
        service.Spec.Type = external.ServiceType;
        // Keep the client's address visible to the daemons (and no second hop through another node).
        service.Spec.ExternalTrafficPolicy = "Local";
        if (external.Annotations.Count > 0) service.Metadata.Annotations = new Dictionary<string, string>(external.Annotations);
        return service;
    }

    /// <summary>The one ConfigMap: common pool settings, a file per role, and the SCITOKENS map file.</summary>
    public static Dictionary<string, string> GenerateConfig(FacilityResource facility, FacilityContext context)
    {
        var condor = facility.Spec.HTCondor;
        var names = new FacilityNames(facility.Metadata.Name);
        var ns = facility.Metadata.NamespaceProperty;
        var uidDomain = UidDomain(facility);
        var external = condor.External;

        var common = new StringBuilder();
        common.AppendLine("# HTCondor pool configuration generated by analysisfacility-operator (shared by every role).");
        common.AppendLine("# Knobs checked against the HTCondor 24.0 manual (Configuration Macros) and the v24.0.23 source.");
        common.AppendLine($"CONDOR_HOST = {names.CentralManager}.{ns}.svc");
        common.AppendLine($"COLLECTOR_HOST = $(CONDOR_HOST):{CollectorPort(facility)}");
        common.AppendLine($"UID_DOMAIN = {uidDomain}");
        common.AppendLine("TRUST_UID_DOMAIN = True");
        common.AppendLine("# One port per daemon (manual: Networking, \"Reducing Port Usage with the condor_shared_port Daemon\").");
        common.AppendLine("USE_SHARED_PORT = True");
        common.AppendLine("# Pods get new addresses on restart: advertise the pod IP, never a stale host name.");
        common.AppendLine("NETWORK_INTERFACE = *");
        if (external is not null)
        {
            // Daemons and sessions in the cluster share this name and so use each other's private (pod) addresses, while
            // outside clients get TCP_FORWARDING_HOST (Daemon::... private network switch, src/condor_daemon_client/daemon.cpp).
            common.AppendLine("# Inside the cluster everyone shares this private network and connects to pod addresses directly.");
            common.AppendLine($"PRIVATE_NETWORK_NAME = {uidDomain}");
        }
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
        common.AppendLine("# Users: WLCG tokens (SCITOKENS, carried inside SSL); local tools use FS.");
        common.AppendLine("SEC_DEFAULT_AUTHENTICATION_METHODS = FS, SCITOKENS, IDTOKENS, PASSWORD");
        common.AppendLine("SEC_CLIENT_AUTHENTICATION_METHODS = FS, SCITOKENS, IDTOKENS, PASSWORD");
        common.AppendLine($"CERTIFICATE_MAPFILE = {MapFile}");
        common.AppendLine("# Map-file keys are regular expressions (the default; MapFile::ParseCanonicalization, src/condor_utils/MapFile.cpp).");
        common.AppendLine("CERTIFICATE_MAPFILE_ASSUME_HASH_KEYS = False");
        common.AppendLine();
        common.AppendLine("# Authorization: pool daemons are condor_pool@$(UID_DOMAIN); admitted token users are <identity>@$(UID_DOMAIN);");
        common.AppendLine("# a token that maps to nothing stays scitokens@unmapped (Condor_Auth_SSL::authenticate_finish) and may only read.");
        common.AppendLine("ALLOW_READ = *");
        common.AppendLine("ALLOW_WRITE = *@$(UID_DOMAIN)");
        common.AppendLine("ALLOW_DAEMON = condor_pool@$(UID_DOMAIN), condor@$(UID_DOMAIN)");
        common.AppendLine("ALLOW_NEGOTIATOR = condor_pool@$(UID_DOMAIN)");
        common.AppendLine("ALLOW_ADMINISTRATOR = condor_pool@$(UID_DOMAIN)");
        common.AppendLine("ALLOW_ADVERTISE_STARTD = condor_pool@$(UID_DOMAIN)");
        common.AppendLine("ALLOW_ADVERTISE_SCHEDD = condor_pool@$(UID_DOMAIN)");
        common.AppendLine("DENY_WRITE = anonymous@*, *@unmapped");
        common.AppendLine("DENY_ADMINISTRATOR = anonymous@*, *@unmapped");

        var centralManager = new StringBuilder();
        centralManager.AppendLine("# Central manager: collector and negotiator.");
        centralManager.AppendLine("use ROLE : CentralManager");
        centralManager.AppendLine($"SHARED_PORT_PORT = {CollectorPort(facility)}");
        AppendServerSsl(centralManager, external?.Host ?? $"{names.CentralManager}.{ns}.svc", external);

        var submit = new StringBuilder();
        submit.AppendLine("# Submit node: the schedd users reach with their tokens.");
        submit.AppendLine("use ROLE : Submit");
        submit.AppendLine($"SHARED_PORT_PORT = {ScheddPort(facility)}");
        submit.AppendLine($"SCHEDD_NAME = {ScheddName(facility)}");
        // A list, split on commas and blanks (StringTokenIterator in htcondor::validate_scitoken, src/condor_utils/condor_scitokens.cpp).
        submit.AppendLine($"SCITOKENS_SERVER_AUDIENCE = {string.Join(", ", ScheddAudiences(facility))}");
        submit.AppendLine("SPOOL = /var/lib/condor/spool");
        submit.AppendLine("# Job identity. The schedd runs as the unprivileged condor account, so can_switch_ids() is false: it then");
        submit.AppendLine("# accepts an Owner without a local account (the passwd check in SetAttribute(Owner), src/condor_schedd.V6/qmgmt.cpp,");
        submit.AppendLine("# applies only when it can switch ids) and never switches to it (init_user_ids_implementation, src/condor_utils/uids.cpp).");
        submit.AppendLine("# 24.0 keeps USER_IS_THE_NEW_OWNER off (src/condor_schedd.V6/schedd.cpp): Owner is the mapped identity before '@',");
        submit.AppendLine("# a client may set Owner only to its own (SetAttribute), and only the Owner or a queue super user may edit,");
        submit.AppendLine("# hold or remove a job (UserCheck2, qmgmt.cpp). The only super user is the daemons' own account, which no token maps to.");
        submit.AppendLine("QUEUE_SUPER_USERS = condor");
        submit.AppendLine("QUEUE_ALL_USERS_TRUSTED = False");
        AppendServerSsl(submit, external?.Host ?? $"{names.Schedd}.{ns}.svc", external);

        var executeText = new StringBuilder();
        executeText.AppendLine("# Execute node: the startd advertises what the pod was given, not the whole host.");
        executeText.AppendLine("use ROLE : Execute");
        executeText.AppendLine($"SHARED_PORT_PORT = {Port}");
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
        executeText.AppendLine("# Jobs never run as their Owner (no such account exists) but as the unprivileged nobody account. The starter");
        executeText.AppendLine("# reads SLOT<N>[_<M>]_USER, then NOBODY_SLOT_USER, and refuses root (JICShadow::initUserPriv,");
        executeText.AppendLine("# src/condor_starter.V6.1/jic_shadow.cpp); dynamic slots are slot1_1, slot1_2, ..., so only NOBODY_SLOT_USER covers them.");
        executeText.AppendLine("STARTER_ALLOW_RUNAS_OWNER = False");
        executeText.AppendLine("NOBODY_SLOT_USER = nobody");

        return new Dictionary<string, string>
        {
            [CommonConfigKey] = common.ToString(),
            [CentralManagerConfigKey] = centralManager.ToString(),
            [ScheddConfigKey] = submit.ToString(),
            [ExecuteConfigKey] = executeText.ToString(),
            [MapFileKey] = CondorMapFile.Generate(Principals(facility, context), uidDomain),
        };
    }

    /// <summary>
    /// The SSL server side of a user-facing daemon: its certificate (AUTH_SSL_SERVER_CERTFILE/KEYFILE, condor_auth_ssl.cpp),
    /// the alias clients check it against (HOST_ALIAS goes into the advertised address, Sock::get_sinful and
    /// SharedPortEndpoint, src/condor_io), and, when exposed, the public host it advertises (TCP_FORWARDING_HOST, manual:
    /// Configuration Macros, daemon_core).
    /// </summary>
    private static void AppendServerSsl(StringBuilder text, string alias, HTCondorExternalSpec? external)
    {
        text.AppendLine("# SSL server certificate from the facility CA (SCITOKENS is carried inside SSL); re-read on every authentication.");
        text.AppendLine($"AUTH_SSL_SERVER_CERTFILE = {HTCondorTls.Directory}/{LeafSecretData.CertificateKey}");
        text.AppendLine($"AUTH_SSL_SERVER_KEYFILE = {HTCondorTls.Directory}/{LeafSecretData.PrivateKeyKey}");
        text.AppendLine("# The name clients check the certificate against (one of its SANs).");
        text.AppendLine($"HOST_ALIAS = {alias}");
        if (external is not null) text.AppendLine($"TCP_FORWARDING_HOST = {external.Host}");
    }

    private static long Cores(string cpu)
    {
        var value = new ResourceQuantity(cpu).ToDecimal();
        return Math.Max(1, (long)Math.Floor(value));
    }

    private static long MemoryMegabytes(string memory) =>
        (long)Math.Floor(new ResourceQuantity(memory).ToDecimal() / (1024 * 1024));

    /// <summary>
    /// The central manager and the schedd run as the condor account (never root): a non-root schedd takes token users'
    /// identities as plain names (see the submit configuration). The fsGroup makes the spool and the SSL key readable.
    /// </summary>
    public static V1PodSecurityContext SubmitSecurityContext() => new()
    {
        RunAsUser = CondorUid, RunAsGroup = CondorUid, FsGroup = CondorUid, RunAsNonRoot = true,
    };

    private static V1PodSpec Pod(FacilityResource facility, FacilityNames names, string roleKey, ComputeResources? resources,
        int port, bool serverTls)
    {
        var pod = BasePod(facility, names, roleKey, resources, port);
        if (!serverTls) return pod;
        // Execute pods stay root: the starter must switch to nobody for the job.
        pod.SecurityContext = SubmitSecurityContext();
        pod.Containers[0].VolumeMounts.Add(new V1VolumeMount { Name = "ssl", MountPath = HTCondorTls.Directory, ReadOnlyProperty = true });
        // A directory mount (not subPath), so the kubelet swaps in a renewed certificate; 0440 with the fsGroup.
        pod.Volumes.Add(new V1Volume { Name = "ssl", Secret = new V1SecretVolumeSource { SecretName = names.CondorTls, DefaultMode = 0b100_100_000 } });
        return pod;
    }

    private static V1PodSpec BasePod(FacilityResource facility, FacilityNames names, string roleKey, ComputeResources? resources, int port) => new()
    {
        Containers =
        [
            new V1Container
            {
                Name = "condor",
                Image = facility.Spec.HTCondor.Image,
                // condor_master in the foreground (the pod lives as long as the daemons), reconfigured when the map changes.
                Command = ["/bin/sh", "-c", MasterScript()],
                Ports = [new V1ContainerPort { Name = "condor", ContainerPort = port }],
                Resources = Facility.Kube.Resources(resources),
                ReadinessProbe = Facility.Kube.ExecProbe("condor_who", "-quick"),
                VolumeMounts =
                [
                    new V1VolumeMount { Name = "config", MountPath = $"{ConfigDirectory}/{CommonConfigKey}", SubPath = CommonConfigKey, ReadOnlyProperty = true },
                    new V1VolumeMount { Name = "config", MountPath = $"{ConfigDirectory}/{roleKey}", SubPath = roleKey, ReadOnlyProperty = true },
                    // A directory mount, not subPath: the kubelet only updates files of directory mounts, and the map grows
                    // with every user who logs in.
                    new V1VolumeMount { Name = "mapfiles", MountPath = MapFileDirectory, ReadOnlyProperty = true },
                    new V1VolumeMount { Name = "pool-password", MountPath = PoolKeySourceDirectory, ReadOnlyProperty = true },
                    new V1VolumeMount { Name = "passwords", MountPath = PasswordDirectory },
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
            // Readable by the daemons' group; the start script makes the private 0600 copy HTCondor insists on.
            new V1Volume { Name = "pool-password", Secret = new V1SecretVolumeSource { SecretName = names.CondorPoolPassword, DefaultMode = 0b100_100_000 } },
            new V1Volume { Name = "passwords", EmptyDir = new V1EmptyDirVolumeSource { Medium = "Memory" } },
        ],
    };

    private static V1StatefulSet SpoolStatefulSet(FacilityResource facility, Kube kube, FacilityNames names)
    {
        var schedd = facility.Spec.HTCondor.Schedd;
        var pod = Pod(facility, names, ScheddConfigKey, schedd.Resources, ScheddPort(facility), serverTls: true);
        pod.Containers[0].VolumeMounts.Add(new V1VolumeMount { Name = "spool", MountPath = "/var/lib/condor/spool" });
        var claim = kube.ClaimTemplate("spool", schedd.SpoolSize, schedd.StorageClassName, schedd.RetainSpool);
        return kube.StatefulSet(names.Schedd, names.Schedd, pod, claim, schedd.RetainSpool);
    }
}
