using System.Runtime.Versioning;
using AnalysisFacility.Operator.Builders.Tokens;
using AnalysisFacility.Operator.IntegrationTests.Support;

namespace AnalysisFacility.Operator.IntegrationTests.Tokens;

/// <summary>
/// Runs the init and refresher scripts the pods get, with the real /bin/sh as an unprivileged user, against
/// directories standing in for the Secret volume and the in-memory token volume.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class TokenRefresherScriptTests : IAsyncLifetime
{
    private const string User = "nobody";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "token-refresher-" + Guid.NewGuid().ToString("N"));
    private string Source => Path.Combine(_root, "secret", "token");
    private string Destination => Path.Combine(_root, "run", "bt_u65534");
    private string Link => Path.Combine(_root, "tmp", "bt_u65534");

    public Task InitializeAsync()
    {
        foreach (var directory in new[] { "secret", "run", "tmp" })
        {
            Directory.CreateDirectory(Path.Combine(_root, directory));
        }
        // Like emptyDir volumes: world-writable directories; the source directory is read-only for the user.
        File.SetUnixFileMode(_root, (UnixFileMode)Convert.ToInt32("755", 8));
        File.SetUnixFileMode(Path.Combine(_root, "run"), (UnixFileMode)Convert.ToInt32("777", 8));
        File.SetUnixFileMode(Path.Combine(_root, "tmp"), (UnixFileMode)Convert.ToInt32("777", 8));
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_root, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Init_writes_the_bare_token_owned_by_the_user_with_mode_0600_and_links_it_from_tmp()
    {
        await WriteSourceAtomically("eyJhbGciOiJFUzI1NiJ9.first.sig\n");

        var (exitCode, output) = await TestProcess.RunAsync("/bin/sh", ["-c", TokenDelivery.InitScript], Environment(), runAsUser: User, timeout: TimeSpan.FromSeconds(30));

        exitCode.Should().Be(0, output);
        (await File.ReadAllTextAsync(Destination)).Should().Be("eyJhbGciOiJFUzI1NiJ9.first.sig", "a bare token, no trailing newline");
        (await OwnerAndMode(Destination)).Should().Be("65534 600");
        new FileInfo(Link).LinkTarget.Should().Be(Destination);
        (await File.ReadAllTextAsync(Link)).Should().Be("eyJhbGciOiJFUzI1NiJ9.first.sig");
        Directory.GetFiles(Path.Combine(_root, "run")).Should().ContainSingle("no temporary file is left behind");
    }

    [Fact]
    public async Task Refresher_replaces_the_token_atomically_when_the_secret_changes()
    {
        await WriteSourceAtomically("token.one.sig");
        await using var refresher = TestProcess.Start("/bin/sh", ["-c", TokenDelivery.RefresherScript], environment: Environment(), runAsUser: User, name: "refresher");
        await refresher.WaitUntilAsync(() => Task.FromResult(File.Exists(Destination) && File.ReadAllText(Destination) == "token.one.sig"),
            TimeSpan.FromSeconds(20), "first token written");

        // Read continuously while the token changes: every read must be a whole token, never empty or partial.
        var reads = new List<string>();
        using var stop = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                reads.Add(await File.ReadAllTextAsync(Destination));
                await Task.Delay(2);
            }
        });
        await WriteSourceAtomically("token.two.longer-than-the-first.sig\n");
        await refresher.WaitUntilAsync(() => Task.FromResult(File.ReadAllText(Destination) == "token.two.longer-than-the-first.sig"),
            TimeSpan.FromSeconds(20), "second token written");
        await stop.CancelAsync();
        await reader;

        reads.Should().OnlyContain(r => r == "token.one.sig" || r == "token.two.longer-than-the-first.sig");
        (await OwnerAndMode(Destination)).Should().Be("65534 600");
        new FileInfo(Link).LinkTarget.Should().Be(Destination);

        // A vanished source keeps the current token rather than deleting it.
        File.Delete(Source);
        await Task.Delay(2500);
        (await File.ReadAllTextAsync(Destination)).Should().Be("token.two.longer-than-the-first.sig");
        refresher.HasExited.Should().BeFalse(refresher.Output);
    }

    [Fact]
    public async Task With_the_experiment_token_as_session_token_the_pod_starts_without_it_and_gets_it_when_it_arrives()
    {
        // As the pod gets them with spec.tokens.sessionToken experiment: the facility token is required, the experiment
        // token (an optional projected Secret) is discovery's own file and /tmp's link, copied whenever it is there.
        var facilityFile = Path.Combine(_root, "run", "facility_bt_u65534");
        var experimentSource = Path.Combine(_root, "secret", "experiment-token");
        var environment = new Dictionary<string, string>(Environment())
        {
            ["DEST"] = facilityFile, ["LINK_TO"] = Destination, ["SRC2"] = experimentSource, ["DEST2"] = Destination,
        };
        await WriteSourceAtomically("facility.token.sig");

        var (exitCode, output) = await TestProcess.RunAsync("/bin/sh", ["-c", TokenDelivery.InitScript], environment, runAsUser: User, timeout: TimeSpan.FromSeconds(30));
        exitCode.Should().Be(0, "a missing experiment token never holds the pod back: " + output);
        (await File.ReadAllTextAsync(facilityFile)).Should().Be("facility.token.sig");
        File.Exists(Destination).Should().BeFalse();
        new FileInfo(Link).LinkTarget.Should().Be(Destination, "/tmp/bt_u$UID names the session token");

        await using var refresher = TestProcess.Start("/bin/sh", ["-c", TokenDelivery.RefresherScript], environment: environment, runAsUser: User, name: "refresher");
        await File.WriteAllTextAsync(experimentSource + ".new", "experiment.token.one\n");
        File.Move(experimentSource + ".new", experimentSource, overwrite: true);
        await refresher.WaitUntilAsync(() => Task.FromResult(File.Exists(Destination) && File.ReadAllText(Destination) == "experiment.token.one"),
            TimeSpan.FromSeconds(20), "the experiment token, once the operator wrote it");
        (await OwnerAndMode(Destination)).Should().Be("65534 600");
        (await File.ReadAllTextAsync(Link)).Should().Be("experiment.token.one");
        (await File.ReadAllTextAsync(facilityFile)).Should().Be("facility.token.sig", "HTCondor's token is untouched");
    }

    private Dictionary<string, string> Environment() => new()
    {
        ["SRC"] = Source,
        ["DEST"] = Destination,
        ["LINK"] = Link,
        ["INTERVAL"] = "1",
        ["PATH"] = "/usr/bin:/bin",
    };

    /// <summary>Like kubelet: write elsewhere, then rename into place; readable by everyone as 0440+fsGroup would be for the pod user.</summary>
    private async Task WriteSourceAtomically(string content)
    {
        var temporary = Source + ".new";
        await File.WriteAllTextAsync(temporary, content);
        File.SetUnixFileMode(temporary, (UnixFileMode)Convert.ToInt32("444", 8));
        File.Move(temporary, Source, overwrite: true);
    }

    private static async Task<string> OwnerAndMode(string path)
    {
        var (exitCode, output) = await TestProcess.RunAsync("stat", ["-c", "%u %a", path]);
        exitCode.Should().Be(0, output);
        return output.Trim();
    }
}
