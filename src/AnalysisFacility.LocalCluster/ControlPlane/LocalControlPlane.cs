using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using k8s;

namespace AnalysisFacility.LocalCluster.ControlPlane;

/// <summary>
/// A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager (garbage
/// collection, Deployment/StatefulSet/ReplicaSet controllers, service-account tokens) and, when asked, kube-scheduler.
/// Pods run only where a node runs them (<see cref="Node.LocalNode"/>); without one they stay Pending.
/// Used by the integration tests and by the `dev` command. Dispose stops every process it started.
/// </summary>
public sealed class LocalControlPlane : IAsyncDisposable
{
    public const string DefaultBinDirectory = "/var/cache/analysisfacility-operator/k8s/bin";
    private const string AdminToken = "admin-token-for-local-control-plane";

    private readonly string _directory;
    private readonly string _binDirectory;
    private readonly List<Process> _processes = [];
    private readonly StringBuilder _logs = new();
    private Process? _apiServer;
    private Process? _controllerManager;
    private int _etcdPort;
    private ClusterCertificates? _certificates;

    private LocalControlPlane(string directory, string binDirectory, string serviceCidr)
    {
        _directory = directory;
        _binDirectory = binDirectory;
        ServiceCidr = serviceCidr;
    }

    /// <summary>The Service IP range (--service-cluster-ip-range); its first address is the `kubernetes` Service.</summary>
    public string ServiceCidr { get; }

    /// <summary>PEM of the CA that signed the API server's certificate (what pods get as the service account ca.crt).</summary>
    public string CaPem => _certificates?.CaPem ?? throw new InvalidOperationException("not started");

    public int ApiServerPort { get; private set; }
    public string Server => $"https://127.0.0.1:{ApiServerPort}";
    public string KubeconfigPath => Path.Combine(_directory, "kubeconfig");
    public string Directory => _directory;
    /// <summary>Token file with extra users (name -> token) that tests can add before start; admin is in system:masters.</summary>
    public IReadOnlyDictionary<string, string> UserTokens { get; private set; } = new Dictionary<string, string>();

    public string Logs
    {
        get { lock (_logs) return _logs.ToString(); }
    }

    /// <summary>Directory of the kube binaries: $AF_CONTROL_PLANE_DIR/bin or the default cache.</summary>
    public static string BinDirectory =>
        Environment.GetEnvironmentVariable("AF_CONTROL_PLANE_DIR") is { Length: > 0 } dir ? Path.Combine(dir, "bin") : DefaultBinDirectory;

    public static async Task<LocalControlPlane> StartAsync(CancellationToken cancellationToken, bool withControllerManager = true,
        IReadOnlyDictionary<string, string>? extraUsers = null, bool withScheduler = false, string serviceCidr = "10.96.0.0/16")
    {
        var bin = BinDirectory;
        foreach (var name in new[] { "kube-apiserver", "kube-controller-manager", "kube-scheduler" })
        {
            if (!File.Exists(Path.Combine(bin, name)))
            {
                throw new InvalidOperationException($"{name} not found in {bin}. Run deploy/dev/install-dependencies.sh first.");
            }
        }
        var directory = Path.Combine(Path.GetTempPath(), "af-control-plane-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(directory);
        var plane = new LocalControlPlane(directory, bin, serviceCidr);
        try
        {
            await plane.StartEtcdAsync(cancellationToken);
            plane.WriteCredentials(extraUsers ?? new Dictionary<string, string>());
            await plane.StartApiServerAsync(cancellationToken);
            if (withControllerManager) plane.StartControllerManager();
            if (withScheduler) plane.StartScheduler();
            return plane;
        }
        catch
        {
            await plane.DisposeAsync();
            throw;
        }
    }

    /// <summary>A client configuration for the admin user.</summary>
    public KubernetesClientConfiguration AdminConfiguration() =>
        KubernetesClientConfiguration.BuildConfigFromConfigFile(KubeconfigPath);

    /// <summary>A client configuration authenticating with a bearer token (e.g. a ServiceAccount's).</summary>
    public KubernetesClientConfiguration ConfigurationForToken(string token) => new()
    {
        Host = Server,
        AccessToken = token,
        SslCaCerts = [System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(CaPem)],
    };

    /// <summary>Stops and starts kube-apiserver on the same port and etcd (watches break; resource versions survive).</summary>
    public async Task RestartApiServerAsync(CancellationToken cancellationToken, TimeSpan? downtime = null)
    {
        if (_apiServer is not null)
        {
            Stop(_apiServer);
            _processes.Remove(_apiServer);
        }
        if (downtime is { } pause) await Task.Delay(pause, cancellationToken);
        await StartApiServerAsync(cancellationToken, ApiServerPort);
    }

    private async Task StartEtcdAsync(CancellationToken cancellationToken)
    {
        _etcdPort = FreePort();
        var peerPort = FreePort();
        var etcd = File.Exists("/usr/bin/etcd") ? "/usr/bin/etcd" : "etcd";
        Launch("etcd", etcd,
        [
            "--name=default", $"--data-dir={Path.Combine(_directory, "etcd")}",
            $"--listen-client-urls=http://127.0.0.1:{_etcdPort}", $"--advertise-client-urls=http://127.0.0.1:{_etcdPort}",
            $"--listen-peer-urls=http://127.0.0.1:{peerPort}", $"--initial-advertise-peer-urls=http://127.0.0.1:{peerPort}",
            $"--initial-cluster=default=http://127.0.0.1:{peerPort}", "--log-level=warn", "--logger=zap",
        ]);
        using var http = new HttpClient();
        await WaitAsync(async () => (await http.GetAsync($"http://127.0.0.1:{_etcdPort}/health", cancellationToken)).IsSuccessStatusCode,
            TimeSpan.FromSeconds(30), "etcd health", cancellationToken);
    }

    private void WriteCredentials(IReadOnlyDictionary<string, string> extraUsers)
    {
        using var rsa = RSA.Create(2048);
        File.WriteAllText(Path.Combine(_directory, "sa.key"), rsa.ExportRSAPrivateKeyPem());
        File.WriteAllText(Path.Combine(_directory, "sa.pub"), rsa.ExportSubjectPublicKeyInfoPem());
        var tokens = new StringBuilder($"{AdminToken},admin,admin,\"system:masters\"\n");
        var users = new Dictionary<string, string>();
        foreach (var (user, token) in extraUsers)
        {
            tokens.Append($"{token},{user},{user}\n");
            users[user] = token;
        }
        UserTokens = users;
        File.WriteAllText(Path.Combine(_directory, "tokens.csv"), tokens.ToString());
        // Our own CA and serving certificate, so that pods can verify the API server at the `kubernetes` Service's
        // address (the API server's self-made certificate is signed by a CA it does not write out).
        _certificates = ClusterCertificates.Create(ServiceNetwork.FirstAddress(ServiceCidr));
        var certDir = Path.Combine(_directory, "certs");
        System.IO.Directory.CreateDirectory(certDir);
        File.WriteAllText(Path.Combine(certDir, "ca.crt"), _certificates.CaPem);
        File.WriteAllText(Path.Combine(certDir, "apiserver.crt"), _certificates.ServerCertificatePem);
        File.WriteAllText(Path.Combine(certDir, "apiserver.key"), _certificates.ServerKeyPem);
    }

    private async Task StartApiServerAsync(CancellationToken cancellationToken, int? port = null)
    {
        ApiServerPort = port ?? FreePort();
        var certDir = Path.Combine(_directory, "certs");
        _apiServer = Launch("kube-apiserver", Path.Combine(_binDirectory, "kube-apiserver"),
        [
            $"--etcd-servers=http://127.0.0.1:{_etcdPort}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            $"--secure-port={ApiServerPort}", "--insecure-port=0",
            $"--tls-cert-file={Path.Combine(certDir, "apiserver.crt")}",
            $"--tls-private-key-file={Path.Combine(certDir, "apiserver.key")}",
            $"--token-auth-file={Path.Combine(_directory, "tokens.csv")}",
            $"--service-account-key-file={Path.Combine(_directory, "sa.pub")}",
            $"--service-account-signing-key-file={Path.Combine(_directory, "sa.key")}",
            "--service-account-issuer=https://kubernetes.default.svc",
            "--api-audiences=https://kubernetes.default.svc",
            "--authorization-mode=RBAC",
            $"--service-cluster-ip-range={ServiceCidr}",
            "--allow-privileged=true",
            "--enable-priority-and-fairness=false",
            "--profiling=false",
            "--v=0",
        ]);
        WriteKubeconfig();
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, _, _, _) => true };
        using var http = new HttpClient(handler);
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminToken);
        await WaitAsync(async () => (await http.GetAsync($"{Server}/readyz", cancellationToken)).IsSuccessStatusCode,
            TimeSpan.FromSeconds(90), "kube-apiserver /readyz", cancellationToken);
        // Ready comes before the API server's bootstrap controller has created the system namespaces: wait for them too,
        // so that a first write into "default" cannot meet 404 namespace not found.
        await WaitAsync(async () => (await http.GetAsync($"{Server}/api/v1/namespaces/default", cancellationToken)).IsSuccessStatusCode,
            TimeSpan.FromSeconds(60), "namespace default", cancellationToken);
    }

    private void StartControllerManager()
    {
        var port = FreePort();
        _controllerManager = Launch("kube-controller-manager", Path.Combine(_binDirectory, "kube-controller-manager"),
        [
            $"--kubeconfig={KubeconfigPath}",
            "--bind-address=127.0.0.1", $"--secure-port={port}", "--port=0",
            $"--service-account-private-key-file={Path.Combine(_directory, "sa.key")}",
            $"--root-ca-file={Path.Combine(_directory, "certs", "ca.crt")}",
            "--leader-elect=false",
            "--use-service-account-credentials=false",
            // Only what a control plane without nodes needs; node lifecycle and cloud controllers would only make noise.
            // root-ca-cert-publisher writes kube-root-ca.crt, which projected service account volumes read.
            "--controllers=garbagecollector,deployment,replicaset,statefulset,daemonset,serviceaccount,serviceaccount-token,namespace,endpoint,persistentvolume-binder,job,root-ca-cert-publisher",
            "--concurrent-gc-syncs=5",
            "--v=0",
        ]);
    }

    /// <summary>The real kube-scheduler: binds pods to nodes by their requests, taints and affinity.</summary>
    private void StartScheduler()
    {
        var port = FreePort();
        Launch("kube-scheduler", Path.Combine(_binDirectory, "kube-scheduler"),
        [
            $"--kubeconfig={KubeconfigPath}",
            // Delegated authentication and authorization of its own HTTPS endpoint would need the admin's
            // kubeconfig for lookups; it serves only /healthz and /metrics here.
            $"--authentication-kubeconfig={KubeconfigPath}", $"--authorization-kubeconfig={KubeconfigPath}",
            "--bind-address=127.0.0.1", $"--secure-port={port}", "--port=0",
            $"--cert-dir={Path.Combine(_directory, "scheduler-certs")}",
            "--leader-elect=false",
            "--v=0",
        ]);
    }

    private void WriteKubeconfig()
    {
        var config = $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: local
              cluster:
                server: {Server}
                certificate-authority: {Path.Combine(_directory, "certs", "ca.crt")}
            users:
            - name: admin
              user:
                token: {AdminToken}
            contexts:
            - name: local
              context:
                cluster: local
                user: admin
                namespace: default
            current-context: local
            """;
        File.WriteAllText(KubeconfigPath, config);
    }

    private Process Launch(string name, string fileName, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = _directory,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => AppendLog(name, e.Data);
        process.ErrorDataReceived += (_, e) => AppendLog(name, e.Data);
        if (!process.Start()) throw new InvalidOperationException($"could not start {fileName}");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes.Add(process);
        return process;
    }

    private void AppendLog(string name, string? line)
    {
        if (line is null) return;
        lock (_logs)
        {
            if (_logs.Length > 50_000_000) _logs.Remove(0, 1_000_000);
            _logs.Append(name).Append(": ").AppendLine(line);
        }
    }

    private async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var exited = _processes.FirstOrDefault(p => p.HasExited);
            if (exited is not null)
            {
                throw new InvalidOperationException($"{exited.StartInfo.FileName} exited ({exited.ExitCode}) while waiting for {what}.\n{Tail(Logs)}");
            }
            try
            {
                if (await condition()) return;
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            await Task.Delay(200, cancellationToken);
        }
        throw new TimeoutException($"{what} not reached within {timeout}.\n{Tail(Logs)}");
    }

    private static string Tail(string text) => text.Length > 4000 ? text[^4000..] : text;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    public ValueTask DisposeAsync()
    {
        // Stop in reverse start order: controller-manager, apiserver, etcd.
        foreach (var process in Enumerable.Reverse(_processes).ToList())
        {
            Stop(process);
            process.Dispose();
        }
        _processes.Clear();
        try
        {
            System.IO.Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
        return ValueTask.CompletedTask;
    }
}
