using k8s.Models;

namespace AnalysisFacility.Operator.Builders.XCache;

/// <summary>
/// How the cache trusts the facility issuer's HTTPS when its certificate is private (the operator's issuer Service
/// inside the cluster). scitokens-cpp fetches the issuer's keys with libcurl, which reads only the CA bundle compiled
/// into it and honours no CA variable, so the bundle file itself must hold the issuer's CA. Replacing the bundle with
/// that CA alone would make every other issuer (the experiment's IAM, a public CA) untrusted, so an init container
/// running the cache image writes the image's own bundle plus the published issuer CA into an in-memory volume, and
/// that file is mounted over the bundle paths libcurl may read: the EL path of the OSG images and the Debian one.
/// </summary>
public static class XCacheIssuerTrust
{
    public const string InitContainerName = "ca-bundle";
    public const string SourceVolume = "issuer-ca";
    public const string BundleVolume = "ca-bundle";
    public const string BundleFile = "ca-bundle.crt";
    public const string SourceDirectory = "/run/analysisfacility/issuer-ca";
    public const string BundleDirectory = "/run/analysisfacility/ca-bundle";

    /// <summary>Bundle files libcurl is built to read: EL (OSG images) first, then Debian/Ubuntu.</summary>
    public static readonly IReadOnlyList<string> BundlePaths = ["/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt"];

    /// <summary>The image's first bundle, then every published issuer certificate.</summary>
    public const string Script = """
        set -e
        : > "$OUT"
        for f in $BUNDLES; do
          if [ -f "$f" ]; then cat "$f" >> "$OUT"; break; fi
        done
        for f in "$EXTRA"/*.crt; do
          if [ -f "$f" ]; then { echo; cat "$f"; } >> "$OUT"; fi
        done
        """;

    /// <summary>Adds the volumes, the init container and the bundle mounts of the xrootd container.</summary>
    public static void AddTo(V1PodSpec pod, V1Container xrootd, string issuerCaConfigMap)
    {
        pod.Volumes = [.. pod.Volumes ?? [],
            // Not optional: the pod waits until the facility has published its issuer trust (empty for a public issuer).
            new V1Volume { Name = SourceVolume, ConfigMap = new V1ConfigMapVolumeSource { Name = issuerCaConfigMap } },
            new V1Volume { Name = BundleVolume, EmptyDir = new V1EmptyDirVolumeSource { Medium = "Memory", SizeLimit = new ResourceQuantity("8Mi") } }];
        var init = new V1Container
        {
            Name = InitContainerName,
            Image = xrootd.Image,
            Command = ["/bin/sh", "-c", Script],
            Env =
            [
                new V1EnvVar { Name = "BUNDLES", Value = string.Join(' ', BundlePaths) },
                new V1EnvVar { Name = "EXTRA", Value = SourceDirectory },
                new V1EnvVar { Name = "OUT", Value = $"{BundleDirectory}/{BundleFile}" },
            ],
            VolumeMounts =
            [
                new V1VolumeMount { Name = SourceVolume, MountPath = SourceDirectory, ReadOnlyProperty = true },
                new V1VolumeMount { Name = BundleVolume, MountPath = BundleDirectory },
            ],
            SecurityContext = xrootd.SecurityContext,
        };
        pod.InitContainers = [.. pod.InitContainers ?? [], init];
        // subPath: the file is written once before xrootd starts; a new issuer CA arrives with the next pod start.
        xrootd.VolumeMounts = [.. xrootd.VolumeMounts ?? [],
            .. BundlePaths.Select(path => new V1VolumeMount { Name = BundleVolume, MountPath = path, SubPath = BundleFile, ReadOnlyProperty = true })];
    }
}
