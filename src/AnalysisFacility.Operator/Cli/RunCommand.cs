using System.CommandLine;
using System.Net;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.Operator.Hosting;
using k8s;
using Serilog;
using Serilog.Events;

namespace AnalysisFacility.Operator.Cli;

/// <summary>`run`: the operator against the kubeconfig in KUBECONFIG / ~/.kube/config, or the in-cluster configuration.</summary>
public sealed class RunCommand
{
    private readonly Option<IReadOnlyList<string>> _namespaces =
        CliOption.List("--namespaces", "watch only these namespaces, comma-separated (default: all)", "AF_NAMESPACES");
    private readonly Option<string> _operatorNamespace = CliOption.Text("--operator-namespace", "namespace of the lease and issuer Service",
        "analysisfacility-system", "AF_OPERATOR_NAMESPACE", "POD_NAMESPACE");
    private readonly Option<bool> _leaderElect = CliOption.Flag("--leader-elect", "run controllers only while holding the lease", "AF_LEADER_ELECT");
    private readonly Option<int> _workers = CliOption.Number("--workers", "concurrent reconciles per controller", 4, "AF_WORKERS");
    private readonly Option<IPAddress> _listenAddress = CliOption.Create("--listen-address", "address of both listeners", IPAddress.Any,
        text => IPAddress.TryParse(text, out var address) ? address : throw new FormatException("must be an IP address"), null, "AF_LISTEN_ADDRESS");
    private readonly Option<int> _httpPort = CliOption.Number("--http-port", "port of /metrics, /healthz, /readyz", 8080, "AF_HTTP_PORT");
    private readonly Option<int> _issuerPort = CliOption.Number("--issuer-port", "port of the HTTPS token issuer", 8443, "AF_ISSUER_PORT");
    private readonly Option<string?> _issuerCertificate = CliOption.OptionalText("--issuer-tls-cert",
        "PEM certificate of the issuer listener (default: self-signed)", "AF_ISSUER_TLS_CERT");
    private readonly Option<string?> _issuerKey = CliOption.OptionalText("--issuer-tls-key", "PEM key of the issuer listener", "AF_ISSUER_TLS_KEY");
    private readonly Option<LogEventLevel> _logLevel = CliOption.LogLevel("--log-level", "least level logged", LogEventLevel.Information, "AF_LOG_LEVEL");
    private readonly Option<LogEventLevel> _httpLogLevel = CliOption.LogLevel("--http-log-level",
        "least level of the web framework's own request logs; issuer requests log one Debug line each", LogEventLevel.Warning, "AF_HTTP_LOG_LEVEL");

    public RunCommand()
    {
        Command = new Command("run", "run the operator (KUBECONFIG / ~/.kube/config, or in-cluster)")
        {
            _namespaces, _operatorNamespace, _leaderElect, _workers, _listenAddress, _httpPort, _issuerPort, _issuerCertificate, _issuerKey,
            _logLevel, _httpLogLevel,
        };
        Command.SetAction((result, _) => RunAsync(result));
    }

    public Command Command { get; }

    public OperatorHostOptions HostOptions(ParseResult result) => new()
    {
        Settings = new OperatorSettings
        {
            Namespaces = result.GetRequiredValue(_namespaces),
            OperatorNamespace = result.GetRequiredValue(_operatorNamespace),
            Workers = result.GetValue(_workers),
        },
        LeaderElection = result.GetValue(_leaderElect),
        Identity = Environment.GetEnvironmentVariable("POD_NAME"),
        ListenAddress = result.GetRequiredValue(_listenAddress),
        HttpPort = result.GetValue(_httpPort),
        IssuerPort = result.GetValue(_issuerPort),
        IssuerCertificatePath = result.GetValue(_issuerCertificate),
        IssuerKeyPath = result.GetValue(_issuerKey),
        HttpLogLevel = result.GetValue(_httpLogLevel),
    };

    private async Task<int> RunAsync(ParseResult result)
    {
        var log = Logging.Create(result.GetValue(_logLevel));
        var configuration = KubernetesClientConfiguration.IsInCluster()
            ? KubernetesClientConfiguration.InClusterConfig()
            : KubernetesClientConfiguration.BuildConfigFromConfigFile(Environment.GetEnvironmentVariable("KUBECONFIG"));
        var options = HostOptions(result);
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
