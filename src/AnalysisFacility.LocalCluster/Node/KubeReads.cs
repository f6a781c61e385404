using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>Reads a kubelet needs, with "not found" as null rather than an exception.</summary>
public sealed class KubeReads(IKubernetes client)
{
    public IKubernetes Client => client;

    public Task<V1ConfigMap?> ConfigMapAsync(string ns, string name, CancellationToken ct) =>
        OrNull(() => client.CoreV1.ReadNamespacedConfigMapAsync(name, ns, cancellationToken: ct));

    public Task<V1Secret?> SecretAsync(string ns, string name, CancellationToken ct) =>
        OrNull(() => client.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: ct));

    public Task<V1PersistentVolumeClaim?> ClaimAsync(string ns, string name, CancellationToken ct) =>
        OrNull(() => client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync(name, ns, cancellationToken: ct));

    public Task<V1PersistentVolume?> VolumeAsync(string name, CancellationToken ct) =>
        OrNull(() => client.CoreV1.ReadPersistentVolumeAsync(name, cancellationToken: ct));

    /// <summary>A bound service account token from the TokenRequest API, as projected volumes get it.</summary>
    public async Task<Authenticationv1TokenRequest> TokenAsync(string ns, string serviceAccount, string? audience, long? expirationSeconds, V1Pod pod, CancellationToken ct)
    {
        var request = new Authenticationv1TokenRequest
        {
            Spec = new V1TokenRequestSpec
            {
                Audiences = audience is { Length: > 0 } ? [audience] : [],
                ExpirationSeconds = expirationSeconds ?? 3600,
                BoundObjectRef = new V1BoundObjectReference { ApiVersion = "v1", Kind = "Pod", Name = pod.Metadata.Name, Uid = pod.Metadata.Uid },
            },
        };
        return await client.CoreV1.CreateNamespacedServiceAccountTokenAsync(request, serviceAccount, ns, cancellationToken: ct);
    }

    private static async Task<T?> OrNull<T>(Func<Task<T>> read) where T : class
    {
        try
        {
            return await read();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }
}
