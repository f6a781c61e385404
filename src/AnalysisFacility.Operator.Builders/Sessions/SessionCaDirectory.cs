using k8s.Models;

namespace AnalysisFacility.Operator.Builders.Sessions;

/// <summary>
/// The session's X509_CERT_DIR: the XRootD client verifies TLS servers only against one hashed CA directory, and the
/// Rucio client (lib/rucio/client/baseclient.py: X509_CERT_DIR wins over rucio.cfg's ca_cert) and other grid tools use
/// the same variable. Pointing it at the facility XCache's CA alone would make every other TLS server untrusted, so an
/// init container running the notebook image copies the image's own CA directory (IGTF in grid images, else the
/// system one, both hashed) into an in-memory volume and adds the XCache CA under its hashed name.
/// </summary>
public static class SessionCaDirectory
{
    public const string MountPath = "/etc/analysisfacility/x509-certificates";
    /// <summary>
    /// The directory X509_CERT_DIR names, inside the volume. XrdTls refuses a CA directory others may write ("excessive
    /// access rights"), and an emptyDir is created world-writable (0777) and owned by root, which the unprivileged init
    /// container cannot change; a subdirectory it makes itself is its own, 0755.
    /// </summary>
    public const string CertificateDirectory = MountPath + "/certificates";
    public const string XCacheCaSource = "/var/run/analysisfacility/xcache-ca";
    public const string Volume = "x509-certificates";
    public const string SourceVolume = "xcache-ca";
    public const string InitContainerName = "x509-certificates";
    /// <summary>Where images keep CA directories, the first one found is copied.</summary>
    public const string ImageCaDirectories = "/etc/grid-security/certificates /etc/ssl/certs";

    /// <summary>Copies the first existing CA directory, then adds each extra CA as hash.N with the first free N.</summary>
    public const string Script = """
        set -e
        umask 022
        mkdir -p "$DEST" && chmod 0755 "$DEST"
        for src in $SOURCES; do
          if [ -d "$src" ]; then
            for f in "$src"/*; do [ -f "$f" ] && cp -L "$f" "$DEST"/ 2>/dev/null || true; done
            break
          fi
        done
        for f in "$EXTRA"/*.0; do
          [ -f "$f" ] || continue
          name=${f##*/}; hash=${name%.0}; n=0
          while [ -e "$DEST/$hash.$n" ] && ! cmp -s "$f" "$DEST/$hash.$n"; do n=$((n + 1)); done
          cp -L "$f" "$DEST/$hash.$n"
        done
        """;

    /// <summary>Adds the volumes, the init container (first, before the notebook) and the notebook's mount.</summary>
    public static void AddTo(V1PodSpec pod, V1Container notebook, string xcacheCaConfigMap)
    {
        pod.Volumes = [.. pod.Volumes ?? [],
            new V1Volume { Name = SourceVolume, ConfigMap = new V1ConfigMapVolumeSource { Name = xcacheCaConfigMap, Optional = true } },
            new V1Volume { Name = Volume, EmptyDir = new V1EmptyDirVolumeSource { Medium = "Memory", SizeLimit = new ResourceQuantity("16Mi") } }];
        var init = new V1Container
        {
            Name = InitContainerName,
            // The notebook image: its own CA directory is the one to extend.
            Image = notebook.Image,
            Command = ["/bin/sh", "-c", Script],
            Env =
            [
                new V1EnvVar { Name = "SOURCES", Value = ImageCaDirectories },
                new V1EnvVar { Name = "EXTRA", Value = XCacheCaSource },
                new V1EnvVar { Name = "DEST", Value = CertificateDirectory },
            ],
            VolumeMounts =
            [
                new V1VolumeMount { Name = SourceVolume, MountPath = XCacheCaSource, ReadOnlyProperty = true },
                new V1VolumeMount { Name = Volume, MountPath = MountPath },
            ],
            SecurityContext = notebook.SecurityContext,
            Resources = new V1ResourceRequirements
            {
                Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("10m"), ["memory"] = new("16Mi") },
                Limits = new Dictionary<string, ResourceQuantity> { ["memory"] = new("64Mi") },
            },
        };
        pod.InitContainers = [.. pod.InitContainers ?? [], init];
        notebook.VolumeMounts = [.. notebook.VolumeMounts ?? [], new V1VolumeMount { Name = Volume, MountPath = MountPath, ReadOnlyProperty = true }];
    }
}
