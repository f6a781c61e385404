using AnalysisFacility.Operator.Api.V1Alpha1;

namespace AnalysisFacility.Operator.Api;

/// <summary>The custom resource types this operator defines, in the order CRDs are written and documented.</summary>
public static class ApiTypes
{
    public static IReadOnlyList<Type> All { get; } =
        [typeof(AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility), typeof(UserSession), typeof(DaskCluster), typeof(XCacheInstance)];
}
