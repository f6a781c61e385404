using System.Net;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.Operator.Hosting;
using k8s;
using Serilog;

namespace AnalysisFacility.Operator.Cli;

/// <summary>`run`: the operator against the kubeconfig in KUBECONFIG / ~/.kube/config, or the in-cluster configuration.</summary>
public static class RunCommand
{
    public const string Usage = """
        run [options]                 run the operator
          --namespaces a,b            watch only these namespaces (AF_NAMESPACES; default: all)
          --operator-namespace NS     namespace of the lease and issuer Service (AF_OPERATOR_NAMESPACE, POD_NAMESPACE)
          --leader-elect              run controllers only while holding the lease (AF_LEADER_ELECT)
          --workers N                 concurrent reconciles per controller (AF_WORKERS, default 4)
          --listen-address A          address of both listeners (AF_LISTEN_ADDRESS, default 0.0.0.0)
          --http-port P               /metrics, /healthz, /readyz (AF_HTTP_PORT, default 8080)
          --issuer-port P             HTTPS token issuer (AF_ISSUER_PORT, default 8443)
          --issuer-tls-cert F --issuer-tls-key F   PEM files for the issuer listener (default: self-signed)
          --log-level L               debug|info|warning|error (AF_LOG_LEVEL, default info)
          --http-log-level L          least level of the web framework's own request logs (AF_HTTP_LOG_LEVEL, default warning);
                                      issuer requests log one Debug line each
        """;

    public static OperatorHostOptions ParseOptions(CommandLine line) => new()
    {
        Settings = new OperatorSettings
        {
            Namespaces = line.GetList("namespaces", "AF_NAMESPACES"),
            OperatorNamespace = line.Get("operator-namespace", "AF_OPERATOR_NAMESPACE")
                                ?? Environment.GetEnvironmentVariable("POD_NAMESPACE") ?? "analysisfacility-system",
            Workers = line.GetInt("workers", "AF_WORKERS", 4),
        },
        LeaderElection = line.Flag("leader-elect", "AF_LEADER_ELECT"),
        Identity = Environment.GetEnvironmentVariable("POD_NAME"),
        ListenAddress = line.Get("listen-address", "AF_LISTEN_ADDRESS") is { } address
            ? IPAddress.TryParse(address, out var parsed) ? parsed : throw new ArgumentException($"--listen-address must be an IP address, got '{address}'")
            : IPAddress.Any,
        HttpPort = line.GetInt("http-port", "AF_HTTP_PORT", 8080),
        IssuerPort = line.GetInt("issuer-port", "AF_ISSUER_PORT", 8443),
        IssuerCertificatePath = line.Get("issuer-tls-cert", "AF_ISSUER_TLS_CERT"),
        IssuerKeyPath = line.Get("issuer-tls-key", "AF_ISSUER_TLS_KEY"),
        HttpLogLevel = Logging.Level(line.Get("http-log-level", "AF_HTTP_LOG_LEVEL", "warning")!),
    };

    public static async Task<int> RunAsync(CommandLine line)
    {
        var log = Logging.Create(line.Get("log-level", "AF_LOG_LEVEL", "info")!);
        var configuration = KubernetesClientConfiguration.IsInCluster()
            ? KubernetesClientConfiguration.InClusterConfig()
            : KubernetesClientConfiguration.BuildConfigFromConfigFile(Environment.GetEnvironmentVariable("KUBECONFIG"));
        var options = ParseOptions(line);
        using var stop = new CancellationTokenSource();
        // SIGTERM (kubelet) and Ctrl-C stop gracefully: controllers drain, the lease is released.
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        await using var host = new OperatorHost(configuration, options, log);
        log.Information("Starting analysisfacility-operator (namespaces: {Namespaces}, leader election: {LeaderElection})",
            options.Settings.Namespaces.Count == 0 ? "all" : string.Join(",", options.Settings.Namespaces), options.LeaderElection);
        await host.RunAsync(stop.Token);
        await Log.CloseAndFlushAsync();
        return 0;
    }
}
