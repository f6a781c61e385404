using AnalysisFacility.Operator.Runtime.Client;
using k8s;
using k8s.Models;

namespace AnalysisFacility.Operator.Runtime.Cache;

/// <summary>Non-generic view of an informer, for the manager, health checks and the applier.</summary>
public interface IInformer
{
    ResourceType Type { get; }
    Type ObjectType { get; }
    bool HasSynced { get; }
    /// <summary>Last time the API server sent anything (event, bookmark or list) on any of this informer's streams.</summary>
    DateTime LastContact { get; }
    int Count { get; }
    /// <summary>Times the informer listed from scratch (first sync, 410 Gone, errors).</summary>
    long Relists { get; }
    IKubernetesObject<V1ObjectMeta>? Get(ObjectKey key);
    /// <summary>
    /// Puts an object just written by this process (the API server's answer, as UTF-8 JSON) into the cache, ahead of its
    /// watch event. <paramref name="writtenOver"/> is the resourceVersion the write was based on: an answer with that same
    /// version means the server changed nothing, so the version is not recorded as this process's write. Returns the
    /// cached instance, or null when the cache already holds a newer version.
    /// </summary>
    IKubernetesObject<V1ObjectMeta>? Upsert(ReadOnlySpan<byte> live, string? writtenOver);
    /// <summary>The field this informer leaves out of the objects it selects, if any.</summary>
    OmittedField? Omit { get; }
    /// <summary>
    /// The digest (<see cref="FieldDigest"/>) of the field left out of this cached instance, null when the instance keeps
    /// it (or never had it: a digest is only kept for a value that was there).
    /// </summary>
    string? OmittedDigest(IKubernetesObject<V1ObjectMeta> cached);
    Task RunAsync(CancellationToken cancellationToken);
}
