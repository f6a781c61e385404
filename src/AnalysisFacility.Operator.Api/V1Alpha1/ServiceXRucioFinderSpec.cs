namespace AnalysisFacility.Operator.Api.V1Alpha1;

[Doc("The Rucio DID finder's credential and account. ServiceX's finder (v1.5) authenticates with an x509 proxy only: its start script waits for the proxy file. Without spec.rucio, the proxy or the account it is not deployed and the condition ServiceXRucioFinderReady says why.")]
public sealed class ServiceXRucioFinderSpec
{
    [Doc("Secret holding the x509 proxy the finder presents to Rucio (renewed by its owner; the finder copies it again every hour).")]
    [JsonPropertyName("x509Proxy")] public XCacheOriginProxy? X509Proxy { get; set; }

    [Doc("Rucio account of the proxy's identity (account of rucio.cfg).")]
    [Pattern("^[a-z0-9_-]{1,25}$")] public string? Account { get; set; }

    [Doc("Latitude of the facility, for choosing the closest replica (RUCIO_LATITUDE).")]
    public string? Latitude { get; set; }

    [Doc("Longitude of the facility (RUCIO_LONGITUDE).")]
    public string? Longitude { get; set; }
}
