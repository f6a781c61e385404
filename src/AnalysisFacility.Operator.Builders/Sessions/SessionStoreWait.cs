using k8s.Models;

namespace AnalysisFacility.Operator.Builders.Sessions;

/// <summary>
/// Holds a session's notebook back until the facility's BindFS mount is on the node. A kubelet resolves a subPath
/// when the container starts and creates the directory if it is missing: before BindFS has mounted the target, that
/// directory would land on the bare mount point, the user's files would be written beside the store instead of into
/// it, and BindFS would then refuse the non-empty target. The init container waits for the FUSE mount to appear
/// under the claim (HostToContainer propagation shows a mount made later on the host). It runs the facility's token
/// helper image, not the user's notebook image, because it sees the whole claim (read-only) while it waits.
/// </summary>
public static class SessionStoreWait
{
    public const string InitContainerName = "wait-for-store";
    // Not under /var/run: that is a symlink in many images, and /proc/mounts names the resolved path.
    public const string CheckPath = "/run/analysisfacility/store-check";

    /// <summary>Waits for a FUSE file system at the check path (the same test as the BindFS pod's readiness probe).</summary>
    public const string Script = """
        n=0
        until grep -qs " $CHECK fuse" /proc/mounts; do
          [ $((n % 15)) -eq 0 ] && echo "waiting for the facility's user store (BindFS) to be mounted on this node"
          n=$((n + 1)); sleep 2
        done
        """;

    /// <summary>Adds the wait before the init containers added so far (the session CA copy): none of them may start before the store is there.</summary>
    public static void AddTo(V1PodSpec pod, string storeVolume, string helperImage, long runAsUser)
    {
        var init = new V1Container
        {
            Name = InitContainerName,
            Image = helperImage,
            Command = ["/bin/sh", "-c", Script],
            Env = [new V1EnvVar { Name = "CHECK", Value = CheckPath }],
            VolumeMounts =
            [
                new V1VolumeMount { Name = storeVolume, MountPath = CheckPath, ReadOnlyProperty = true, MountPropagation = "HostToContainer" },
            ],
            SecurityContext = new V1SecurityContext
            {
                RunAsNonRoot = true,
                RunAsUser = runAsUser,
                AllowPrivilegeEscalation = false,
                ReadOnlyRootFilesystem = true,
                Capabilities = new V1Capabilities { Drop = ["ALL"] },
            },
            Resources = new V1ResourceRequirements
            {
                Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("10m"), ["memory"] = new("16Mi") },
                Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("100m"), ["memory"] = new("32Mi") },
            },
        };
        pod.InitContainers = [init, .. pod.InitContainers ?? []];
    }
}
