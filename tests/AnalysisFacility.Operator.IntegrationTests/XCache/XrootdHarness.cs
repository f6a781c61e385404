using AnalysisFacility.Operator.Api.V1Alpha1;
using System.Net.Sockets;
using AnalysisFacility.Operator.Builders.Tokens;
using AnalysisFacility.Operator.Builders.XCache;
using AnalysisFacility.Operator.IntegrationTests.Support;

namespace AnalysisFacility.Operator.IntegrationTests.XCache;

/// <summary>
/// A temporary directory tree for real xrootd servers. xrootd refuses to run as root, so servers run as
/// "nobody" and the tree is handed to that account before they start.
/// </summary>
internal sealed class XrootdTree : IAsyncDisposable
{
    public const string ServerUser = "nobody";

    private XrootdTree(string root) => Root = root;

    public string Root { get; }
    public string OriginData => Path.Combine(Root, "origin");
    public string Client => Path.Combine(Root, "client");

    public static XrootdTree Create()
    {
        var root = Directory.CreateTempSubdirectory("xcache-it-").FullName;
        // Readable by the server account; the integration tests run on Linux only (xrootd, setpriv).
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
            UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var tree = new XrootdTree(root);
        Directory.CreateDirectory(tree.OriginData);
        Directory.CreateDirectory(tree.Client);
        return tree;
    }

    /// <summary>The cache's directories under this tree, listening on <paramref name="xrootPort"/>.</summary>
    public XCacheLayout CacheLayout(int xrootPort, string tlsDirectory = "", int? httpPort = null) => new(
        xrootPort,
        HttpPort: httpPort,
        NamespaceDirectory: Path.Combine(Root, "cache", "namespace"),
        MetaDirectory: Path.Combine(Root, "cache", "meta"),
        DataDirectory: Path.Combine(Root, "cache", "data"),
        AdminDirectory: Path.Combine(Root, "cache", "run"),
        ScitokensConfigPath: Path.Combine(Root, "cache", XCacheLayout.ScitokensConfigFile),
        TlsCertificatePath: Path.Combine(tlsDirectory, "tls.crt"),
        TlsKeyPath: Path.Combine(tlsDirectory, "tls.key"),
        TlsCaFile: Path.Combine(tlsDirectory, "ca.crt"));

    public string WriteOriginFile(string logicalPath, byte[] content)
    {
        var path = Path.Combine(OriginData, logicalPath.TrimStart('/'));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return path;
    }

    /// <summary>Makes everything under the tree owned by the server account (run before starting servers).</summary>
    public async Task GiveToServerUserAsync(CancellationToken cancellationToken)
    {
        if (Environment.UserName != "root") return;
        var (exitCode, output) = await TestProcess.RunAsync("chown", ["-R", $"{ServerUser}:nogroup", Root], cancellationToken: cancellationToken);
        exitCode.Should().Be(0, output);
    }

    /// <summary>A plain origin: a real xrootd serving <see cref="OriginData"/> under /store (not what is under test).</summary>
    public async Task<TestProcess> StartOriginAsync(int port, CancellationToken cancellationToken)
    {
        var config = Path.Combine(Root, "origin.cfg");
        var admin = Path.Combine(Root, "origin-run");
        Directory.CreateDirectory(admin);
        await File.WriteAllTextAsync(config, $"""
            all.export /store
            xrd.port {port}
            oss.localroot {OriginData}
            all.adminpath {admin}
            all.pidpath {admin}
            """, cancellationToken);
        await GiveToServerUserAsync(cancellationToken);
        var origin = TestProcess.Start(Programs.Require("xrootd"), ["-c", config], Root, runAsUser: ServerUser, name: "xrootd-origin");
        await WaitForPortAsync(origin, port);
        return origin;
    }

    /// <summary>
    /// xrootd as the server account in a private mount namespace where <paramref name="caBundlePath"/> is the trusted
    /// bundle, so its scitokens plug-in (libcurl) fetches a loopback issuer's keys (<see cref="TestCaTrust"/>).
    /// </summary>
    public TestProcess StartTrustingXrootd(string caBundlePath, string configPath, IDictionary<string, string> environment, string name)
    {
        var (fileName, arguments) = TestCaTrust.Command(caBundlePath, Programs.Require("setpriv"),
            [$"--reuid={ServerUser}", "--regid=nogroup", "--clear-groups", "--", Programs.Require("xrootd"), "-c", configPath]);
        return TestProcess.Start(fileName, arguments, Root, environment, name: name);
    }

    /// <summary>
    /// Writes <paramref name="token"/> to <paramref name="destination"/> with the pod's own delivery script, run as the
    /// reading account (0600, owned by it, replaced atomically), from a Secret-like file under the tree.
    /// </summary>
    public async Task DeliverTokenAsync(string name, string token, string destination, CancellationToken cancellationToken)
    {
        var source = Path.Combine(Root, "secret-" + name, TokenDelivery.TokenKey);
        Directory.CreateDirectory(Path.GetDirectoryName(source)!);
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        await File.WriteAllTextAsync(source, token + "\n", cancellationToken);
        await GiveToServerUserAsync(cancellationToken);
        var result = await TestProcess.RunAsync("/bin/sh", ["-c", TokenDelivery.InitScript],
            new Dictionary<string, string> { ["SRC"] = source, ["DEST"] = destination, ["PATH"] = "/usr/bin:/bin" },
            runAsUser: ServerUser, timeout: TimeSpan.FromSeconds(30), cancellationToken: cancellationToken);
        result.ExitCode.Should().Be(0, result.Output);
    }

    /// <summary>The cache "cms-cache" in front of a loopback origin, exporting /store, trusting the tokens of facility "cms-af".</summary>
    public static XCacheInstance FacilityCache(int originPort) => new()
    {
        Metadata = new() { Name = "cms-cache", NamespaceProperty = "af" },
        Spec = new XCacheInstanceSpec
        {
            Origin = $"root://127.0.0.1:{originPort}",
            ExportedPaths = ["/store"],
            Ram = "1g",
            Authorization = new XCacheAuthorization { FacilityRef = "cms-af" },
        },
    };

    public static Task WaitForPortAsync(TestProcess process, int port) => process.WaitUntilAsync(async () =>
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        return true;
    }, TimeSpan.FromSeconds(30), $"port {port} accepting connections");

    public ValueTask DisposeAsync()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // a server may still be flushing; the temp directory is cleaned by the OS later
        }
        return ValueTask.CompletedTask;
    }
}
