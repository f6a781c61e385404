using AnalysisFacility.Operator.Api.V1Alpha1;
using k8s;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Builders.Facility;

/// <summary>Where a user's store directory is mounted in a session: the subPath of the store PVC and whether it is read-only.</summary>
public sealed record StoreAssignment(string ClaimName, string SubPath, bool ReadOnly, string? StoreName, string MountPath);

/// <summary>
/// The shared user store: a privileged BindFS DaemonSet mapping the host source directory onto the target with
/// the facility's ownership, a hostPath PV on the target (always Retain) and the PVC sessions mount with subPath.
/// </summary>
public static class UserStoreBuilder
{
    public const string Component = "userstore";
    public const string ConditionType = "UserStoreReady";
    public const string SourceMount = "/source";
    public const string TargetMount = "/target";

    public static IReadOnlyList<string> Validate(AnalysisFacilitySpec spec)
    {
        var store = spec.UserStore;
        if (!store.Enabled) return [];
        var errors = new List<string>();
        if (string.IsNullOrEmpty(store.SourcePath)) errors.Add("spec.userStore.sourcePath is required when the user store is enabled (the host directory holding the store, e.g. /tier2/cms/store/user)");
        if (string.IsNullOrEmpty(store.TargetPath)) errors.Add("spec.userStore.targetPath is required when the user store is enabled (where BindFS exposes it, e.g. /mnt/cms/store/user)");
        if (store.SourcePath is not null && store.SourcePath == store.TargetPath) errors.Add("spec.userStore.sourcePath and targetPath must differ");
        foreach (var user in store.Users.GroupBy(u => u.User, StringComparer.Ordinal).Where(g => g.Count() > 1))
            errors.Add($"spec.userStore.users lists user '{user.Key}' {user.Count()} times; each user may have one store name");
        foreach (var name in store.Users.GroupBy(u => u.StoreName, StringComparer.Ordinal).Where(g => g.Count() > 1))
            errors.Add($"spec.userStore.users maps store name '{name.Key}' to several users ({string.Join(", ", name.Select(u => u.User))}); a store directory belongs to one user");
        if (store.Users.Any(u => u.StoreName == store.NobodyDirectory))
            errors.Add($"spec.userStore.users uses the read-only fallback directory '{store.NobodyDirectory}' as a store name");
        return errors;
    }

    /// <summary>The BindFS command line (foreground, so the container lives as long as the mount).</summary>
    public static IReadOnlyList<string> BindfsArguments(StoreOwnership ownership, string source, string target) =>
    [
        "-f",
        $"--force-user={ownership.ForceUser}",
        $"--force-group={ownership.ForceGroup}",
        $"--perms={ownership.Perms}",
        "-o", "allow_other",
        source, target,
    ];

    public static ComponentObjects Build(FacilityResource facility)
    {
        var store = facility.Spec.UserStore;
        if (!store.Enabled) return ComponentObjects.Disabled(Component, ConditionType);
        var errors = Validate(facility.Spec);
        if (errors.Count > 0) return ComponentObjects.Invalid(Component, ConditionType, errors);

        var kube = new Kube(facility, "bindfs", Component);
        var names = new FacilityNames(kube.Facility);
        var daemonSet = new V1DaemonSet
        {
            ApiVersion = "apps/v1", Kind = "DaemonSet", Metadata = kube.Meta(names.Bindfs),
            Spec = new V1DaemonSetSpec
            {
                Selector = new V1LabelSelector { MatchLabels = kube.Selector() },
                Template = kube.Template(new V1PodSpec
                {
                    Containers =
                    [
                        new V1Container
                        {
                            Name = "bindfs",
                            Image = store.BindfsImage,
                            Command = ["bindfs", .. BindfsArguments(store.Ownership, SourceMount, TargetMount)],
                            // FUSE mounts need privilege; Bidirectional propagation makes the mount visible on the host.
                            SecurityContext = new V1SecurityContext { Privileged = true },
                            // Ready only once the BindFS mount is there (UserStoreReady); sessions wait for the mount itself (SessionStoreWait) so no
                            // kubelet creates a user's subPath on the bare mount point first.
                            ReadinessProbe = new V1Probe
                            {
                                Exec = new V1ExecAction { Command = ["sh", "-c", $"grep -qs ' {TargetMount} fuse' /proc/mounts"] },
                                PeriodSeconds = 2,
                            },
                            Lifecycle = new V1Lifecycle { PreStop = new V1LifecycleHandler { Exec = new V1ExecAction { Command = ["fusermount", "-u", TargetMount] } } },
                            VolumeMounts =
                            [
                                new V1VolumeMount { Name = "source", MountPath = SourceMount, MountPropagation = "HostToContainer" },
                                new V1VolumeMount { Name = "target", MountPath = TargetMount, MountPropagation = "Bidirectional" },
                            ],
                        },
                    ],
                    Volumes =
                    [
                        new V1Volume { Name = "source", HostPath = new V1HostPathVolumeSource { Path = store.SourcePath, Type = "Directory" } },
                        new V1Volume { Name = "target", HostPath = new V1HostPathVolumeSource { Path = store.TargetPath, Type = "DirectoryOrCreate" } },
                    ],
                }),
            },
        };

        var volumeName = names.StoreVolume(kube.Namespace);
        var capacity = new Dictionary<string, ResourceQuantity> { ["storage"] = new(store.Capacity) };
        var volumeMeta = new V1ObjectMeta { Name = volumeName, Labels = kube.Labels() };
        DataRetention.Mark(volumeMeta, store.RetainClaim);
        var volume = new V1PersistentVolume
        {
            ApiVersion = "v1", Kind = "PersistentVolume", Metadata = volumeMeta,
            Spec = new V1PersistentVolumeSpec
            {
                Capacity = capacity,
                AccessModes = ["ReadWriteMany"],
                // Store data is never deleted by the operator, whatever happens to the claim.
                PersistentVolumeReclaimPolicy = "Retain",
                StorageClassName = "",
                HostPath = new V1HostPathVolumeSource { Path = store.TargetPath, Type = "Directory" },
                ClaimRef = new V1ObjectReference { Kind = "PersistentVolumeClaim", Name = store.ClaimName, NamespaceProperty = kube.Namespace },
            },
        };
        var claimMeta = kube.Meta(store.ClaimName);
        DataRetention.Mark(claimMeta, store.RetainClaim);
        var claim = new V1PersistentVolumeClaim
        {
            ApiVersion = "v1", Kind = "PersistentVolumeClaim", Metadata = claimMeta,
            Spec = new V1PersistentVolumeClaimSpec
            {
                AccessModes = ["ReadWriteMany"],
                StorageClassName = "",
                VolumeName = volumeName,
                Resources = new V1VolumeResourceRequirements { Requests = capacity },
            },
        };
        // Cluster-scoped PV: clear the namespace so server-side apply accepts it.
        volume.Metadata.NamespaceProperty = null;
        return ComponentObjects.Of(Component, ConditionType, [daemonSet, volume, claim]);
    }
}
