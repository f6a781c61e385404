using AnalysisFacility.Operator.Builders.Common;

namespace AnalysisFacility.Operator.Builders.Facility;

/// <summary>Names of the objects a facility owns, derived from the facility name only (stable across edits).</summary>
public sealed class FacilityNames(string facility)
{
    public string Hub => Names.Object(facility, "hub");
    public string HubConfig => Names.Object(facility, "hub-config");
    public string HubSecret => Names.Object(facility, "hub-secret");
    public string HubDatabase => Names.Object(facility, "hub-db");
    /// <summary>The ExternalName Service in front of the operator's issuer (the brief's <c>&lt;facility&gt;-issuer</c>).</summary>
    public string Issuer => Names.Object(facility, "issuer");
    /// <summary>ConfigMap with what clients in the cluster trust the issuer's HTTPS with (key <c>ca.crt</c>).</summary>
    public string IssuerCa => Names.Object(facility, "issuer-ca");

    public string CondorConfig => Names.Object(facility, "condor-config");
    public string CondorPoolPassword => Names.Object(facility, "condor-pool-password");
    /// <summary>kubernetes.io/tls Secret with the collector's and schedd's SSL certificate.</summary>
    public string CondorTls => Names.Object(facility, "condor-tls");
    /// <summary>ConfigMap with the CA clients verify the collector and schedd with (key ca.crt): mounted in sessions, fetched by outside users.</summary>
    public string CondorCa => Names.Object(facility, "condor-ca");
    public string CentralManagerExternal => Names.Object(facility, "condor-cm-external");
    public string ScheddExternal => Names.Object(facility, "condor-schedd-external");
    public string CentralManager => Names.Object(facility, "condor-cm");
    public string Schedd => Names.Object(facility, "condor-schedd");
    public string Execute => Names.Object(facility, "condor-execute");

    public string ServiceXApp => Names.Object(facility, "servicex-app");
    public string ServiceXConfig => Names.Object(facility, "servicex-config");
    public string ServiceXSecret => Names.Object(facility, "servicex-secret");
    public string ServiceXRabbitMq => Names.Object(facility, "servicex-rabbitmq");
    public string ServiceXPostgres => Names.Object(facility, "servicex-postgresql");
    public string ServiceXMinio => Names.Object(facility, "servicex-minio");
    public string ServiceXDidFinder(string name) => Names.Object(facility, "servicex-did-finder", name);
    public string ServiceXCodeGen(string name) => Names.Object(facility, "servicex-code-gen", name);

    public string Triton => Names.Object(facility, "triton");

    public string Mlflow => Names.Object(facility, "mlflow");
    public string MlflowDatabase => Names.Object(facility, "mlflow-db");
    public string MlflowGateway => Names.Object(facility, "mlflow-gateway");
    public string ServiceXGateway => Names.Object(facility, "servicex-gateway");
    public string ServiceXInternal => Names.Object(facility, "servicex-app-internal");
    public string ServiceXRucioConfig => Names.Object(facility, "servicex-rucio-config");

    public string Bindfs => Names.Object(facility, "store-bindfs");
    /// <summary>The store PV is cluster-scoped, so its name carries the namespace too.</summary>
    public string StoreVolume(string ns) => Names.Object(ns, facility, "user-store");
}
