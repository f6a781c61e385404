using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.Operator.Controllers.Dask;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Runtime.Hosting;
using AnalysisFacility.Operator.Runtime.Leader;
using AnalysisFacility.Operator.Tokens.Discovery;
using AnalysisFacility.Operator.Tokens.Grants;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;
using ILogger = Serilog.ILogger;

namespace AnalysisFacility.Operator.Hosting;

/// <summary>Options of one operator process (what `run` parses from flags and environment).</summary>
public sealed record OperatorHostOptions
{
    public OperatorSettings Settings { get; init; } = new();
    /// <summary>Run controllers only while holding the lease (for two or more replicas).</summary>
    public bool LeaderElection { get; init; }
    public string? Identity { get; init; }
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>Address of the HTTP listener for /metrics, /healthz and /readyz.</summary>
    public IPAddress ListenAddress { get; init; } = IPAddress.Any;
    /// <summary>HTTP port for metrics and probes; 0 picks a free port.</summary>
    public int HttpPort { get; init; } = 8080;
    /// <summary>HTTPS port of the token issuer (discovery + JWKS); 0 picks a free port.</summary>
    public int IssuerPort { get; init; } = 8443;
    /// <summary>PEM certificate and key for the issuer listener; a self-signed one is made when absent.</summary>
    public string? IssuerCertificatePath { get; init; }
    public string? IssuerKeyPath { get; init; }
    /// <summary>Knobs of the Dask controller (`dev` reaches schedulers through the local node's Service addresses).</summary>
    public DaskControllerOptions? Dask { get; init; }
    /// <summary>Extra names the self-signed issuer certificate is valid for (e.g. the address pods reach it at in `dev`).</summary>
    public IReadOnlyList<IPAddress> IssuerAddresses { get; init; } = [];
    /// <summary>
    /// Least level of ASP.NET Core's own logs (request starting/finished, endpoint executed: three Information lines per
    /// request, a flood with a kubelet probing every 10 s). Issuer requests get one Debug line of their own.
    /// </summary>
    public Serilog.Events.LogEventLevel HttpLogLevel { get; init; } = Serilog.Events.LogEventLevel.Warning;
}

/// <summary>
/// One operator process: the controllers (through <see cref="OperatorManager"/>), the HTTPS token issuer and the
/// HTTP endpoints for probes and metrics. `run`, `dev` and the integration tests all start the operator this way.
/// </summary>
public sealed class OperatorHost : IAsyncDisposable
{
    private readonly OperatorHostOptions _options;
    private readonly ILogger _log;
    private readonly KubernetesApi _api;
    private WebApplication? _web;
    private readonly Tokens.Grants.FailedAuthenticationLimiter _failedAuthentications = new();

    public OperatorHost(KubernetesClientConfiguration configuration, OperatorHostOptions options, ILogger log)
    {
        _options = options;
        _log = log;
        _api = new KubernetesApi(configuration, ApiJson.Options);
        Issuers = new IssuerRegistry();
        var leader = options.LeaderElection
            ? new LeaderElectionOptions
            {
                Namespace = options.Settings.OperatorNamespace,
                Identity = options.Identity ?? $"{Environment.MachineName}-{Guid.NewGuid():N}",
                LeaseDuration = options.LeaseDuration, RenewDeadline = options.RenewDeadline, RetryPeriod = options.RetryPeriod,
            }
            : null;
        Manager = new OperatorManager(_api, new ManagerOptions { Namespaces = options.Settings.Namespaces, LeaderElection = leader, Claims = OperatorSetup.Claims }, log);
        IssuerCertificate = LoadOrCreateCertificate(options);
        OperatorSetup.Register(Manager, SettingsWithIssuerTrust(options), Issuers, log, options.Dask);
    }

    public OperatorManager Manager { get; }
    public IssuerRegistry Issuers { get; }
    public KubernetesApi Api => _api;
    public X509Certificate2 IssuerCertificate { get; }
    /// <summary>Bound HTTP endpoint (metrics, probes), known once running.</summary>
    public Uri? HttpEndpoint { get; private set; }
    /// <summary>Bound HTTPS endpoint of the issuer, known once running.</summary>
    public Uri? IssuerEndpoint { get; private set; }

    /// <summary>Runs until <paramref name="cancellationToken"/> fires (SIGTERM in `run`), then stops gracefully.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        _web = BuildWebApplication();
        await _web.StartAsync(cancellationToken);
        var addresses = _web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
        HttpEndpoint = new Uri(addresses.First(a => a.StartsWith("http://", StringComparison.Ordinal)));
        IssuerEndpoint = new Uri(addresses.First(a => a.StartsWith("https://", StringComparison.Ordinal)));
        _log.Information("Serving probes and metrics on {Http}, issuer on {Issuer}", HttpEndpoint.ToString(), IssuerEndpoint.ToString());
        try
        {
            await Manager.RunAsync(cancellationToken);
        }
        finally
        {
            using var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _web.StopAsync(stopTimeout.Token);
        }
    }

    private WebApplication BuildWebApplication()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // The framework's categories (Microsoft.*) pass at HttpLogLevel; everything still goes through the operator's logger.
        var webLog = new LoggerConfiguration().MinimumLevel.Verbose()
            .MinimumLevel.Override("Microsoft", _options.HttpLogLevel)
            .WriteTo.Logger(_log).CreateLogger();
        builder.Services.AddSerilog(webLog, dispose: true);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(_options.ListenAddress, _options.HttpPort);
            kestrel.Listen(_options.ListenAddress, _options.IssuerPort, listen => listen.UseHttps(IssuerCertificate));
        });
        var app = builder.Build();
        // One line per issuer request (verifiers fetch discovery and JWKS), at Debug: visible with --log-level debug only.
        app.Use(async (context, next) =>
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            await next(context);
            if (context.Request.IsHttps)
            {
                _log.Debug("Issuer {Method} {Path} answered {Status} in {Milliseconds:0.0} ms", context.Request.Method, context.Request.Path.Value,
                    context.Response.StatusCode, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        });
        // Probes and metrics only on the HTTP port; the issuer only on HTTPS.
        app.MapGet("/healthz", (HttpContext context) =>
            !context.Request.IsHttps && Manager.IsHealthy ? Results.Text("ok") : Results.Text("watch stale", statusCode: 503));
        app.MapGet("/readyz", (HttpContext context) =>
            !context.Request.IsHttps && Manager.IsReady ? Results.Text("ok") : Results.Text("caches not synced", statusCode: 503));
        app.MapGet("/metrics", async (HttpContext context) =>
        {
            if (context.Request.IsHttps) return Results.NotFound();
            return Results.Text(await Manager.Metrics.ExportAsync(context.RequestAborted), "text/plain; version=0.0.4");
        });
        app.MapIssuerEndpoints(Issuers);
        // Robot clients' client-credentials grant at {issuer}/token (HTTPS only; 404 for issuers without robots).
        app.MapTokenEndpoint(Issuers, _failedAuthentications, _log);
        return app;
    }

    /// <summary>
    /// A self-signed issuer certificate is what in-cluster clients must trust, so facilities publish it; a certificate
    /// given in files is trusted as its CA says, and is published only when the settings name that trust.
    /// </summary>
    private OperatorSettings SettingsWithIssuerTrust(OperatorHostOptions options) =>
        options.Settings.IssuerTrustPem is not null || options.IssuerCertificatePath is not null
            ? options.Settings
            : options.Settings with { IssuerTrustPem = IssuerCertificate.ExportCertificatePem() + "\n" };

    private X509Certificate2 LoadOrCreateCertificate(OperatorHostOptions options)
    {
        if (options.IssuerCertificatePath is { } certPath && options.IssuerKeyPath is { } keyPath)
        {
            return X509Certificate2.CreateFromPemFile(certPath, keyPath);
        }
        // Development and tests: a self-signed certificate; in a cluster TLS terminates at the hub's Ingress.
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=analysisfacility-operator issuer", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddDnsName(options.Settings.IssuerServiceHost);
        names.AddIpAddress(IPAddress.Loopback);
        foreach (var address in options.IssuerAddresses) names.AddIpAddress(address);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(1));
        // Kestrel needs the key in an exportable, loadable form.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    public async ValueTask DisposeAsync()
    {
        if (_web is not null) await _web.DisposeAsync();
        _api.Dispose();
        IssuerCertificate.Dispose();
    }
}
