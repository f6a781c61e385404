using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Serilog;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>
/// The node's storage: a default StorageClass `local-node` whose claims get a hostPath volume in the node's data
/// directory (as the local-path provisioners of single-node clusters do), and deletion of those volumes once released.
/// Claims of other classes, or with a volume named, are left to the binder.
/// </summary>
public sealed class VolumeProvisioner(IKubernetes client, NodeSlot slot, string nodeName, ILogger log)
{
    public const string StorageClassName = "local-node";
    public const string Provisioner = "local-node.analysisfacility.io/hostpath";

    private string VolumesDirectory => Path.Combine(NodeSlot.DataRoot, $"slot-{slot.Index}", "volumes");

    public async Task InstallAsync(CancellationToken ct)
    {
        var storageClass = new V1StorageClass
        {
            Metadata = new V1ObjectMeta
            {
                Name = StorageClassName,
                Annotations = new Dictionary<string, string> { ["storageclass.kubernetes.io/is-default-class"] = "true" },
            },
            Provisioner = Provisioner,
            ReclaimPolicy = "Delete",
            VolumeBindingMode = "Immediate",
        };
        try
        {
            await client.StorageV1.CreateStorageClassAsync(storageClass, cancellationToken: ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
        }
    }

    public async Task SyncAsync(CancellationToken ct)
    {
        var claims = await client.CoreV1.ListPersistentVolumeClaimForAllNamespacesAsync(cancellationToken: ct);
        foreach (var claim in claims.Items.Where(c => c.Spec.StorageClassName == StorageClassName && string.IsNullOrEmpty(c.Spec.VolumeName)
                                                       && c.Metadata.DeletionTimestamp is null))
        {
            await ProvisionAsync(claim, ct);
        }
        var volumes = await client.CoreV1.ListPersistentVolumeAsync(cancellationToken: ct);
        foreach (var volume in volumes.Items.Where(v => v.Spec.StorageClassName == StorageClassName && v.Status?.Phase is "Released" or "Failed"))
        {
            if (volume.Spec.HostPath?.Path is { } path && path.StartsWith(VolumesDirectory + "/", StringComparison.Ordinal) && Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
            await client.CoreV1.DeletePersistentVolumeAsync(volume.Metadata.Name, cancellationToken: ct);
            log.Information("Deleted released volume {Volume}", volume.Metadata.Name);
        }
    }

    private async Task ProvisionAsync(V1PersistentVolumeClaim claim, CancellationToken ct)
    {
        var name = $"pvc-{claim.Metadata.Uid}";
        var path = Path.Combine(VolumesDirectory, $"{claim.Metadata.NamespaceProperty}-{claim.Metadata.Name}-{claim.Metadata.Uid[..8]}");
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32("777", 8));
        var size = claim.Spec.Resources?.Requests is { } requests && requests.TryGetValue("storage", out var q) ? q : new ResourceQuantity("1Gi");
        var volume = new V1PersistentVolume
        {
            Metadata = new V1ObjectMeta { Name = name, Annotations = new Dictionary<string, string> { ["pv.kubernetes.io/provisioned-by"] = Provisioner } },
            Spec = new V1PersistentVolumeSpec
            {
                Capacity = new Dictionary<string, ResourceQuantity> { ["storage"] = size },
                AccessModes = claim.Spec.AccessModes ?? ["ReadWriteOnce"],
                PersistentVolumeReclaimPolicy = "Delete",
                StorageClassName = StorageClassName,
                HostPath = new V1HostPathVolumeSource { Path = path, Type = "Directory" },
                ClaimRef = new V1ObjectReference { Kind = "PersistentVolumeClaim", NamespaceProperty = claim.Metadata.NamespaceProperty, Name = claim.Metadata.Name, Uid = claim.Metadata.Uid },
                NodeAffinity = new V1VolumeNodeAffinity
                {
                    Required = new V1NodeSelector { NodeSelectorTerms = [new V1NodeSelectorTerm { MatchExpressions = [new V1NodeSelectorRequirement { Key = "kubernetes.io/hostname", OperatorProperty = "In", Values = [nodeName] }] }] },
                },
            },
        };
        try
        {
            await client.CoreV1.CreatePersistentVolumeAsync(volume, cancellationToken: ct);
            log.Information("Provisioned {Volume} at {Path} for claim {Namespace}/{Claim}", name, path, claim.Metadata.NamespaceProperty, claim.Metadata.Name);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // made on an earlier pass; the binder has not caught up yet
        }
    }
}
