using AnalysisFacility.Operator.Controllers.Dask;
using AnalysisFacility.Operator.Controllers.Facility;
using AnalysisFacility.Operator.Controllers.Sessions;
using AnalysisFacility.Operator.Controllers.XCache;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.Facility;
using AnalysisFacility.Operator.Runtime.Apply;
using AnalysisFacility.Operator.Runtime.Hosting;
using AnalysisFacility.Operator.Tokens.Discovery;
using Serilog;

namespace AnalysisFacility.Operator.Controllers;

/// <summary>Registers every controller of the operator with a manager.</summary>
public static class OperatorSetup
{
    /// <summary>
    /// Objects the operator may write: made by it (managed-by label) for the same facility, or released by it as retained
    /// data (the retain annotation) and carrying the same facility labels, so a re-created facility adopts its data again.
    /// </summary>
    public static ClaimRules Claims { get; } = new(Labels.ManagedBy, Labels.ManagedByValue,
        new Dictionary<string, string> { [Labels.Facility] = "AnalysisFacility", [FacilityLabels.FacilityNamespace] = "facility namespace" },
        DataRetention.Annotation);

    public static void Register(OperatorManager manager, OperatorSettings settings, IssuerRegistry issuers, ILogger log,
        DaskControllerOptions? dask = null)
    {
        // Before any controller asks for these informers: cache only what reconciles read. Token Secrets are cached
        // without their token, session client configurations without their files.
        manager.OmitFromCache<k8s.Models.V1Secret>(StoredTokens.CacheOmission);
        manager.OmitFromCache<k8s.Models.V1ConfigMap>(ClientConfigCaching.CacheOmission);
        FacilityController.Register(manager, settings, issuers, log);
        UserSessionController.Register(manager, settings, issuers, log);
        DaskClusterController.Register(manager, settings, log, dask);
        XCacheInstanceController.Register(manager, settings, log);
    }
}
