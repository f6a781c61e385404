using AnalysisFacility.Operator.Controllers.Dask;
using AnalysisFacility.Operator.Controllers.Facility;
using AnalysisFacility.Operator.Controllers.Sessions;
using AnalysisFacility.Operator.Controllers.XCache;
using AnalysisFacility.Operator.Runtime.Hosting;
using AnalysisFacility.Operator.Tokens.Discovery;
using Serilog;

namespace AnalysisFacility.Operator.Controllers;

/// <summary>Registers every controller of the operator with a manager.</summary>
public static class OperatorSetup
{
    public static void Register(OperatorManager manager, OperatorSettings settings, IssuerRegistry issuers, ILogger log,
        DaskControllerOptions? dask = null)
    {
        FacilityController.Register(manager, settings, issuers, log);
        UserSessionController.Register(manager, settings, issuers, log);
        DaskClusterController.Register(manager, settings, issuers, log, dask ?? new DaskControllerOptions());
        XCacheInstanceController.Register(manager, settings, issuers, log);
    }
}
