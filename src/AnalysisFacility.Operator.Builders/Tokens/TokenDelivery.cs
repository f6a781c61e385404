using System.Text;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Tokens.Issuance;
using k8s.Models;

namespace AnalysisFacility.Operator.Builders.Tokens;

/// <summary>Whose token a pod gets and how the helper containers run.</summary>
/// <param name="SecretName">The per-user token Secret (see <see cref="TokenDelivery.SecretName"/>).</param>
/// <param name="HelperImage">Facility <c>sessions.tokenHelperImage</c> (busybox: sh, tr, cmp, mv, ln, sleep).</param>
/// <param name="RunAsUser">uid of the pod's main containers; the token file is owned by it.</param>
/// <param name="FsGroup">Pod fsGroup: makes the root-owned Secret volume readable by the helpers.</param>
/// <param name="SourceKey">Key of the credential in the Secret.</param>
/// <param name="Kind">A bearer token (BEARER_TOKEN_FILE, whitespace stripped) or an x509 proxy (X509_USER_PROXY, copied as is).</param>
/// <param name="Experiment">A second bearer token beside the facility's: the user's experiment token (sessions and their Dask pods).</param>
public sealed record TokenDeliveryOptions(string SecretName, string HelperImage, long RunAsUser, long FsGroup,
    string SourceKey = TokenDelivery.TokenKey, DeliveredCredential Kind = DeliveredCredential.BearerToken, ExperimentTokenDelivery? Experiment = null);

/// <summary>The experiment token's Secret, and whether it is the session token (BEARER_TOKEN_FILE and the discovery files) or only offered.</summary>
public sealed record ExperimentTokenDelivery(string SecretName, bool IsSessionToken);

/// <summary>What the delivered file holds: it decides the file name, the variables that point at it and whether it is copied byte for byte.</summary>
public enum DeliveredCredential
{
    BearerToken,
    X509Proxy,
}

/// <summary>What a session or Dask pod needs to find its token by WLCG Bearer Token Discovery.</summary>
public sealed record TokenPodPieces(
    IReadOnlyList<V1Volume> Volumes,
    V1Container InitContainer,
    V1Container RefresherContainer,
    IReadOnlyList<V1VolumeMount> MainMounts,
    IReadOnlyList<V1EnvVar> MainEnvironment,
    string TokenFile,
    long FsGroup);

/// <summary>
/// Delivery of per-user bearer tokens into pods. Secret volumes are root-owned and fsGroup makes them 0440, which
/// xrootd refuses; env vars and subPath mounts never update. So an init container copies the token from the Secret
/// volume into an in-memory emptyDir before the main containers start, and a refresher sidecar keeps it current:
/// temp file + rename (readers never see a partial token), mode 0600, owned by runAsUser, no trailing newline.
/// </summary>
public static class TokenDelivery
{
    public const string TokenKey = "token";
    public const int RefreshIntervalSeconds = 15;
    public const string SourceDirectory = "/var/run/analysisfacility/bearer-token-source";
    private const string SourceVolume = "bearer-token-source";
    private const string RuntimeVolume = "bearer-token";
    private const string TmpVolume = "tmp";
    public const string InitContainerName = "bearer-token-init";
    public const string RefresherContainerName = "bearer-token-refresher";

    /// <summary>$XDG_RUNTIME_DIR of the pod's user: the in-memory volume holding the token.</summary>
    public static string RuntimeDirectory(long uid) => $"/run/user/{uid}";

    /// <summary>The token file: $XDG_RUNTIME_DIR/bt_u$UID, the discovery spec's second location.</summary>
    public static string TokenFile(long uid) => $"{RuntimeDirectory(uid)}/bt_u{uid}";

    /// <summary>An x509 proxy in the in-memory volume, named as grid tools name it (x509up_u$UID), read through X509_USER_PROXY.</summary>
    public static string ProxyFile(long uid) => $"{RuntimeDirectory(uid)}/x509up_u{uid}";

    /// <summary>/tmp/bt_u$UID, the discovery spec's last location: a symlink to <see cref="TokenFile"/>.</summary>
    public static string TmpLink(long uid) => $"/tmp/bt_u{uid}";

    /// <summary>Where the token that is not the session token is kept (FACILITY_TOKEN_FILE or EXPERIMENT_TOKEN_FILE names it).</summary>
    public static string FacilityTokenFile(long uid) => $"{RuntimeDirectory(uid)}/facility_bt_u{uid}";
    public static string ExperimentTokenFile(long uid) => $"{RuntimeDirectory(uid)}/experiment_bt_u{uid}";

    /// <summary>Variables naming each token's file, whichever of them is the session token.</summary>
    public const string FacilityTokenVariable = "FACILITY_TOKEN_FILE";
    public const string ExperimentTokenVariable = "EXPERIMENT_TOKEN_FILE";
    private const string ExperimentSourceKey = "experiment-token";

    public static string SecretName(string facility, string userName) => Names.Object(facility, "token", userName);

    /// <summary>The component label of a token Secret (a user's, or a service's robot token).</summary>
    public const string SecretComponent = "user-token";
    public const string IssuedAtAnnotation = "analysisfacility.io/token-issued-at";
    public const string ExpiresAtAnnotation = "analysisfacility.io/token-expires-at";
    public const string KeyIdAnnotation = "analysisfacility.io/token-key-id";

    /// <summary>The per-user Secret holding the bare current token (no trailing newline); rewritten on refresh.</summary>
    public static V1Secret BuildSecret(string facility, string @namespace, string userName, MintedToken token)
    {
        var labels = Labels.For("analysisfacility", facility, SecretComponent, facility);
        labels[Labels.User] = Labels.SafeValue(userName);
        return new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = new V1ObjectMeta
            {
                Name = SecretName(facility, userName),
                NamespaceProperty = @namespace,
                Labels = labels,
                // Not secret: lets the controller decide on refresh without decoding the token.
                Annotations = new Dictionary<string, string>
                {
                    [IssuedAtAnnotation] = token.IssuedAt.ToString("O"),
                    [ExpiresAtAnnotation] = token.ExpiresAt.ToString("O"),
                    ["analysisfacility.io/token-refresh-at"] = token.NextRefreshAt.ToString("O"),
                    [KeyIdAnnotation] = token.KeyId,
                },
            },
            Type = "Opaque",
            Data = new Dictionary<string, byte[]> { [TokenKey] = Encoding.ASCII.GetBytes(token.Value) },
        };
    }

    public static TokenPodPieces BuildPodPieces(TokenDeliveryOptions options)
    {
        var uid = options.RunAsUser;
        var experiment = options.Kind == DeliveredCredential.BearerToken ? options.Experiment : null;
        var volumes = new List<V1Volume>
        {
            experiment is null ? new()
            {
                Name = SourceVolume,
                Secret = new V1SecretVolumeSource
                {
                    SecretName = options.SecretName,
                    Items = [new V1KeyToPath { Key = options.SourceKey, Path = TokenKey }],
                    DefaultMode = Convert.ToInt32("440", 8),
                },
            } : new()
            {
                // One source volume for both tokens; the experiment Secret is optional, so a session whose login handed
                // over no refresh token (or whose first refresh failed) still starts, with the condition saying why.
                Name = SourceVolume,
                Projected = new V1ProjectedVolumeSource
                {
                    DefaultMode = Convert.ToInt32("440", 8),
                    Sources =
                    [
                        new V1VolumeProjection { Secret = new V1SecretProjection { Name = options.SecretName, Items = [new V1KeyToPath { Key = options.SourceKey, Path = TokenKey }] } },
                        new V1VolumeProjection { Secret = new V1SecretProjection { Name = experiment.SecretName, Optional = true,
                            Items = [new V1KeyToPath { Key = TokenKey, Path = ExperimentSourceKey }] } },
                    ],
                },
            },
            new() { Name = RuntimeVolume, EmptyDir = new V1EmptyDirVolumeSource { Medium = "Memory", SizeLimit = new ResourceQuantity("1Mi") } },
            // /tmp as a volume so the init container can place the /tmp/bt_u$UID symlink the main containers see.
            new() { Name = TmpVolume, EmptyDir = new V1EmptyDirVolumeSource() },
        };
        var mainMounts = new List<V1VolumeMount>
        {
            new() { Name = RuntimeVolume, MountPath = RuntimeDirectory(uid) },
            new() { Name = TmpVolume, MountPath = "/tmp" },
        };
        var helperMounts = new List<V1VolumeMount>(mainMounts) { new() { Name = SourceVolume, MountPath = SourceDirectory, ReadOnlyProperty = true } };
        var proxy = options.Kind == DeliveredCredential.X509Proxy;
        // The session token sits where discovery looks ($XDG_RUNTIME_DIR/bt_u$UID); the other one beside it.
        var facilityFile = proxy ? ProxyFile(uid) : experiment is { IsSessionToken: true } ? FacilityTokenFile(uid) : TokenFile(uid);
        var experimentFile = experiment is { IsSessionToken: true } ? TokenFile(uid) : ExperimentTokenFile(uid);
        var sessionFile = proxy ? facilityFile : TokenFile(uid);
        var helperEnvironment = new List<V1EnvVar>
        {
            Env("SRC", $"{SourceDirectory}/{TokenKey}"),
            Env("DEST", facilityFile),
            Env("INTERVAL", RefreshIntervalSeconds.ToString()),
        };
        // A proxy is PEM: copied byte for byte, and no discovery symlink (X509_USER_PROXY names it).
        helperEnvironment.Insert(2, proxy ? Env("RAW", "1") : Env("LINK", TmpLink(uid)));
        if (!proxy) helperEnvironment.Insert(3, Env("LINK_TO", sessionFile));
        if (experiment is not null)
        {
            helperEnvironment.Add(Env("SRC2", $"{SourceDirectory}/{ExperimentSourceKey}"));
            helperEnvironment.Add(Env("DEST2", experimentFile));
        }
        List<V1EnvVar> environment = proxy
            ? [Env("X509_USER_PROXY", facilityFile), Env("XDG_RUNTIME_DIR", RuntimeDirectory(uid))]
            // HTCondor's schedd trusts the facility's issuer: condor tools always get the facility token.
            : [Env("BEARER_TOKEN_FILE", sessionFile), Env("XDG_RUNTIME_DIR", RuntimeDirectory(uid)), Env("_condor_SCITOKENS_FILE", facilityFile)];
        if (experiment is not null)
        {
            environment.Add(Env(FacilityTokenVariable, facilityFile));
            environment.Add(Env(ExperimentTokenVariable, experimentFile));
        }
        var suffix = proxy ? "-x509" : "";
        return new TokenPodPieces(volumes,
            Helper(InitContainerName + suffix, InitScript, options, helperMounts, helperEnvironment),
            Helper(RefresherContainerName + suffix, RefresherScript, options, helperMounts, helperEnvironment),
            mainMounts, environment, sessionFile, options.FsGroup);
    }

    /// <summary>
    /// Adds the pieces to <paramref name="pod"/>: volumes, the init container first (so the token exists before any
    /// other init or main container runs), the refresher, and mounts + env in the named containers.
    /// </summary>
    public static void AddTo(V1PodSpec pod, TokenPodPieces pieces, IEnumerable<string> containerNames)
    {
        pod.Volumes = [.. pod.Volumes ?? [], .. pieces.Volumes];
        // The helpers run as a non-root user in the fsGroup and read the root-owned Secret volume through its group:
        // without a pod fsGroup the kubelet leaves the files root:root and the helpers get "Permission denied"
        // (found when the local node first ran a Dask scheduler pod).
        pod.SecurityContext ??= new V1PodSecurityContext();
        pod.SecurityContext.FsGroup ??= pieces.FsGroup;
        pod.InitContainers = [pieces.InitContainer, .. pod.InitContainers ?? []];
        pod.Containers = [.. pod.Containers ?? [], pieces.RefresherContainer];
        var targets = containerNames.ToHashSet(StringComparer.Ordinal);
        foreach (var container in pod.Containers.Concat(pod.InitContainers).Where(c => targets.Contains(c.Name)))
        {
            container.VolumeMounts = [.. container.VolumeMounts ?? [], .. pieces.MainMounts];
            // A static BEARER_TOKEN would never refresh and would win over the file in discovery: never set it.
            // The delivery owns these variables: replace any the container already sets (duplicates are invalid in SSA),
            // and drop BEARER_TOKEN, which would never refresh.
            var owned = pieces.MainEnvironment.Select(e => e.Name).Append("BEARER_TOKEN").ToHashSet();
            container.Env = [.. (container.Env ?? []).Where(e => !owned.Contains(e.Name)), .. pieces.MainEnvironment];
        }
    }

    /// <summary>
    /// Shared by both helpers: copy a token atomically if it changed. SRC to DEST is the token the pod cannot start
    /// without; SRC2 to DEST2, when set, the experiment token, copied whenever it is there. LINK points at LINK_TO.
    /// </summary>
    private const string CopyFunction = """
        umask 077
        copy_one() {
          [ -s "$1" ] || return 1
          tmp="${2%/*}/.bt_tmp.$$"
          if [ "${RAW:-}" = 1 ]; then cat "$1" > "$tmp"; else tr -d ' \t\r\n' < "$1" > "$tmp"; fi || { rm -f "$tmp"; return 1; }
          [ -s "$tmp" ] || { rm -f "$tmp"; return 1; }
          if [ -f "$2" ] && cmp -s "$tmp" "$2"; then rm -f "$tmp"; return 0; fi
          chmod 600 "$tmp" && mv -f "$tmp" "$2"
        }
        copy_token() {
          if [ -n "${SRC2:-}" ]; then copy_one "$SRC2" "$DEST2" || true; fi
          copy_one "$SRC" "$DEST"
        }
        link_token() {
          target="${LINK_TO:-$DEST}"
          if [ -n "${LINK:-}" ] && [ "$(readlink "$LINK" 2>/dev/null)" != "$target" ]; then ln -sfn "$target" "$LINK"; fi
        }
        """;

    /// <summary>Init container: the token must be in place before the main containers start, else the pod waits.</summary>
    public const string InitScript = CopyFunction + """

        tries=0
        until copy_token; do
          tries=$((tries + 1))
          if [ "$tries" -ge 60 ]; then echo "bearer token source $SRC missing or empty" >&2; exit 1; fi
          sleep 1
        done
        link_token
        """;

    /// <summary>Sidecar: follows the Secret volume (kubelet updates it atomically) and replaces the file on change.</summary>
    public const string RefresherScript = CopyFunction + """

        trap 'exit 0' TERM INT
        while true; do
          copy_token || echo "bearer token source $SRC missing or empty; keeping the current token" >&2
          link_token
          sleep "${INTERVAL:-15}" & wait $!
        done
        """;

    private static V1EnvVar Env(string name, string value) => new() { Name = name, Value = value };

    private static V1Container Helper(string name, string script, TokenDeliveryOptions options, List<V1VolumeMount> mounts, List<V1EnvVar> environment) => new()
    {
        Name = name,
        Image = options.HelperImage,
        Command = ["/bin/sh", "-c", script],
        Env = environment,
        VolumeMounts = mounts,
        SecurityContext = new V1SecurityContext
        {
            RunAsUser = options.RunAsUser,
            RunAsGroup = options.FsGroup,
            RunAsNonRoot = true,
            AllowPrivilegeEscalation = false,
            ReadOnlyRootFilesystem = true,
            Capabilities = new V1Capabilities { Drop = ["ALL"] },
        },
        Resources = new V1ResourceRequirements
        {
            Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("5m"), ["memory"] = new("8Mi") },
            Limits = new Dictionary<string, ResourceQuantity> { ["memory"] = new("32Mi") },
        },
    };
}
