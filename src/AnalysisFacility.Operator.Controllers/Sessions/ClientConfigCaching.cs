using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.Sessions;
using AnalysisFacility.Operator.Runtime.Cache;
using k8s.Models;

namespace AnalysisFacility.Operator.Controllers.Sessions;

/// <summary>
/// A session's client configuration ConfigMap (Dask, HTCondor, Rucio files: several KB a session) is written by the
/// operator and read only by the pod: no reconcile reads its data, so the cache keeps its metadata and a digest of the
/// data (the applier still skips an unchanged one and rewrites one edited by hand).
/// </summary>
public static class ClientConfigCaching
{
    public static OmittedField CacheOmission { get; } = new("data", IsClientConfig);

    public static bool IsClientConfig(V1ObjectMeta metadata) =>
        metadata.Labels is { } labels
        && labels.TryGetValue(Labels.Name, out var application) && application == SessionBuilder.Application
        && labels.TryGetValue(Labels.Component, out var component) && component == SessionBuilder.NotebookComponent;
}
