namespace AnalysisFacility.LocalCluster.Node;

/// <summary>A volume cannot be set up yet (a missing ConfigMap, an unbound claim): the pod waits, saying why.</summary>
public sealed class VolumeNotReadyException(string message) : Exception(message);
