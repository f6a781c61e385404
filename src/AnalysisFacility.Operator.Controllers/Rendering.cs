using AnalysisFacility.Operator.Api.V1Alpha1;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Controllers;

/// <summary>
/// Everything a `render -f FILE` run knows: the resources in the file. Each controller renders its kind from this
/// with the same pure planning code it reconciles with, substituting placeholders for what only a cluster knows
/// (keys, generated passwords, pod addresses).
/// </summary>
public sealed record RenderSet
{
    public IReadOnlyList<FacilityResource> Facilities { get; init; } = [];
    public IReadOnlyList<UserSession> Sessions { get; init; } = [];
    public IReadOnlyList<DaskCluster> DaskClusters { get; init; } = [];
    public IReadOnlyList<XCacheInstance> XCaches { get; init; } = [];
    /// <summary>The fixed time used for anything time-dependent (token timestamps, certificate validity).</summary>
    public DateTime Now { get; init; } = DateTime.UtcNow;
}
