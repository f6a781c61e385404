namespace AnalysisFacility.Operator.Controllers;

/// <summary>Settings of the controllers, from the command line / environment of `run`.</summary>
public sealed record OperatorSettings
{
    /// <summary>Namespaces watched; empty means all namespaces.</summary>
    public IReadOnlyList<string> Namespaces { get; init; } = [];

    /// <summary>Namespace the operator runs in (lease, issuer Service).</summary>
    public string OperatorNamespace { get; init; } = "analysisfacility-system";

    /// <summary>Concurrent reconciles per controller.</summary>
    public int Workers { get; init; } = 4;

    /// <summary>Service in the operator namespace that exposes the operator's HTTPS issuer endpoint.</summary>
    public string IssuerServiceName { get; init; } = "analysisfacility-operator-issuer";
    public int IssuerServicePort { get; init; } = 8443;

    public string ClusterDomain { get; init; } = "cluster.local";

    /// <summary>
    /// PEM of the certificate(s) a client in the cluster needs to trust the issuer Service's HTTPS (the operator's
    /// self-signed certificate, or the CA of the one it was given). Published per facility as
    /// <c>&lt;facility&gt;-issuer-ca</c> so that consumers reaching the issuer inside the cluster (XCache's scitokens
    /// plugin) can verify it; null when the issuer's certificate is publicly trusted and nothing needs publishing.
    /// </summary>
    public string? IssuerTrustPem { get; init; }

    /// <summary>Host name of the issuer Service as facilities' ExternalName Services point at it.</summary>
    public string IssuerServiceHost => $"{IssuerServiceName}.{OperatorNamespace}.svc.{ClusterDomain}";

    /// <summary>Label selector for the children the operator caches: only what it manages.</summary>
    public const string ManagedSelector = "app.kubernetes.io/managed-by=analysisfacility-operator";
}
