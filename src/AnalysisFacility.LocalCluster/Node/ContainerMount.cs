namespace AnalysisFacility.LocalCluster.Node;

/// <summary>One bind mount of a container: a host path at the container's path, with its propagation mode.</summary>
public sealed record ContainerMount(string Source, string Target, bool ReadOnly, string Propagation = "None")
{
    public bool Propagates => Propagation is "HostToContainer" or "Bidirectional";
}
