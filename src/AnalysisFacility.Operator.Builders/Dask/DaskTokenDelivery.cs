using k8s.Models;

namespace AnalysisFacility.Operator.Builders.Dask;

/// <summary>
/// How the owning user's token reaches the scheduler and worker pods. The controller builds it with the token builders
/// (Builders/Tokens) and passes it in; this builder only wires it into the pods and points BEARER_TOKEN_FILE at it.
/// </summary>
/// <param name="TokenFilePath">Path of the token file inside the containers (becomes BEARER_TOKEN_FILE).</param>
/// <param name="Volumes">Pod volumes holding or refreshing the token.</param>
/// <param name="VolumeMounts">Mounts added to the Dask container.</param>
/// <param name="InitContainers">Run before Dask starts (e.g. fetch the first token).</param>
/// <param name="Sidecars">Run next to Dask (e.g. refresh the token before it expires).</param>
/// <param name="FsGroup">Pod fsGroup the helpers read the root-owned token Secret through.</param>
/// <param name="Environment">Further variables of the Dask container (e.g. the files of the facility and experiment tokens).</param>
public sealed record DaskTokenDelivery(
    string TokenFilePath,
    IReadOnlyList<V1Volume> Volumes,
    IReadOnlyList<V1VolumeMount> VolumeMounts,
    IReadOnlyList<V1Container> InitContainers,
    IReadOnlyList<V1Container> Sidecars,
    long? FsGroup = null,
    IReadOnlyList<V1EnvVar>? Environment = null);
