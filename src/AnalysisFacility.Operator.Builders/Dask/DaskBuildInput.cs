using AnalysisFacility.Operator.Api.V1Alpha1;

namespace AnalysisFacility.Operator.Builders.Dask;

/// <summary>Everything the builder needs besides the DaskCluster itself; the controller gathers it.</summary>
/// <param name="FacilityName">The AnalysisFacility named by spec.facilityRef.</param>
/// <param name="FacilityDomain">Its spec.domain (external addresses need it).</param>
/// <param name="Defaults">Its spec.dask.</param>
/// <param name="DesiredWorkers">Worker replicas decided by the controller (spec.worker.replicas, or the adaptive scaler's answer).</param>
/// <param name="TlsSecretData">Result of <see cref="DaskTls.Ensure"/>; required when spec.tls is true.</param>
/// <param name="TokenDelivery">How the user's token reaches the pods; required when spec.user is set.</param>
public sealed record DaskBuildInput(
    string FacilityName,
    string? FacilityDomain,
    DaskDefaults Defaults,
    int DesiredWorkers,
    IDictionary<string, byte[]>? TlsSecretData,
    DaskTokenDelivery? TokenDelivery = null)
{
    /// <summary>The facility has spec.cvmfs on: workers mount its CVMFS claim at /cvmfs, as sessions do.</summary>
    public bool Cvmfs { get; init; }

    /// <summary>
    /// ConfigMap with the CA of the facility XCache (see <see cref="Sessions.SessionContext.XCacheCaConfigMap"/>):
    /// workers read through the cache as the notebook does, so they get the same X509_CERT_DIR.
    /// </summary>
    public string? XCacheCaConfigMap { get; init; }
}
