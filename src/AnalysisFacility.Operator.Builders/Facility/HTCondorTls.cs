using AnalysisFacility.Operator.Builders.Certificates;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Builders.Facility;

/// <summary>
/// The SSL server certificate of the collector and the schedd. SCITOKENS runs inside HTCondor's SSL authenticator, whose
/// server side needs AUTH_SSL_SERVER_CERTFILE/KEYFILE (src/condor_io/condor_auth_ssl.cpp, should_try_auth, v24.0), and
/// whose client checks a DNS SAN against the alias of the address it connects to: the host of COLLECTOR_HOST, or the
/// HOST_ALIAS in the daemon's advertised address (SSL host check in condor_auth_ssl.cpp; alias kept across the private
/// network switch in src/condor_daemon_client/daemon.cpp). One certificate carries every such name. The server reads
/// the files anew for every authentication (setup_ssl_ctx creates a new SSL_CTX each time), so a renewed certificate
/// that the kubelet writes into the Secret volume is used by the next connection: no restart, no reconfig, running
/// jobs untouched.
/// </summary>
public static class HTCondorTls
{
    public const string Directory = "/etc/condor/ssl";

    /// <summary>Names clients use for the collector and the schedd, inside (every Service DNS form) and outside.</summary>
    public static LeafCertificateRequest Request(FacilityResource facility, string clusterDomain = "cluster.local")
    {
        var names = new FacilityNames(facility.Metadata.Name);
        var ns = facility.Metadata.NamespaceProperty;
        var dns = new List<string>();
        foreach (var service in new[] { names.CentralManager, names.Schedd })
        {
            dns.AddRange([service, $"{service}.{ns}", $"{service}.{ns}.svc", $"{service}.{ns}.svc.{clusterDomain}"]);
        }
        if (facility.Spec.HTCondor.External is { Host.Length: > 0 } external) dns.Add(external.Host);
        return new LeafCertificateRequest($"{names.CentralManager} HTCondor", dns, [], ServerAuth: true, ClientAuth: false);
    }

    /// <summary>Keeps <paramref name="existingData"/> while valid, signed by the current CA and for the right names; re-issues otherwise.</summary>
    public static CertificateSecretData Ensure(IDictionary<string, byte[]>? existingData, IDictionary<string, byte[]> caData,
        FacilityResource facility, DateTimeOffset now, CertificateLifetimes? lifetimes = null) =>
        LeafSecretData.Ensure(existingData, caData, Request(facility), now, lifetimes);
}
