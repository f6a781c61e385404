using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Common;
using k8s.Models;

namespace AnalysisFacility.Operator.Builders.Sessions;

/// <summary>
/// CVMFS through the CVMFS CSI driver v2 (cvmfs-contrib/cvmfs-csi docs/how-to-use.md, "CVMFS automounts"): one
/// ReadOnlyMany PVC of the driver's automount StorageClass (no repository parameter) per namespace serves every
/// repository, autofs mounts each on first access, and pods must mount it with HostToContainer propagation (else
/// "Too many levels of symbolic links").
/// </summary>
public static class SessionCvmfs
{
    public const string MountPath = "/cvmfs";
    public const string Volume = "cvmfs";
    /// <summary>The driver's CSIDriver name and StorageClass provisioner.</summary>
    public const string DriverName = "cvmfs.csi.cern.ch";

    public static string ClaimName(string facility) => Names.Object(facility, "cvmfs");

    /// <summary>The facility's claim; the driver ignores the size, which must be non-zero.</summary>
    public static V1PersistentVolumeClaim Claim(string facility, string @namespace, CvmfsSpec cvmfs, IDictionary<string, string> labels) => new()
    {
        ApiVersion = "v1",
        Kind = V1PersistentVolumeClaim.KubeKind,
        Metadata = new V1ObjectMeta { Name = ClaimName(facility), NamespaceProperty = @namespace, Labels = new Dictionary<string, string>(labels) },
        Spec = new V1PersistentVolumeClaimSpec
        {
            AccessModes = ["ReadOnlyMany"],
            StorageClassName = cvmfs.StorageClassName,
            Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1") } },
        },
    };

    /// <summary>Mounts the facility's claim at /cvmfs in <paramref name="containers"/>.</summary>
    public static void AddTo(V1PodSpec pod, string facility, IEnumerable<V1Container> containers)
    {
        pod.Volumes = [.. pod.Volumes ?? [], new V1Volume
        {
            Name = Volume,
            PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = ClaimName(facility), ReadOnlyProperty = true },
        }];
        foreach (var container in containers)
        {
            container.VolumeMounts = [.. container.VolumeMounts ?? [],
                new V1VolumeMount { Name = Volume, MountPath = MountPath, ReadOnlyProperty = true, MountPropagation = "HostToContainer" }];
        }
    }

    /// <summary>
    /// Whether the driver can serve the claim: the StorageClass must exist and name the driver as provisioner. Null
    /// when it is fine; otherwise what to tell the admin.
    /// </summary>
    public static string? DriverProblem(CvmfsSpec cvmfs, string? storageClassProvisioner, bool storageClassExists)
    {
        if (!storageClassExists)
            return $"StorageClass {cvmfs.StorageClassName} (spec.cvmfs.storageClassName) does not exist: install the CVMFS CSI driver (cvmfs-contrib/cvmfs-csi Helm chart) and its automount StorageClass with provisioner {DriverName}.";
        if (storageClassProvisioner != DriverName)
            return $"StorageClass {cvmfs.StorageClassName} has provisioner {storageClassProvisioner}, not {DriverName}: it is not the CVMFS CSI driver's.";
        return null;
    }
}
