using System.Security.Cryptography;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.XCache;
using AnalysisFacility.Operator.IntegrationTests.Support;

namespace AnalysisFacility.Operator.IntegrationTests.XCache;

/// <summary>
/// The xrootd configuration our builder generates, loaded by a real xrootd (Debian xrootd-server) acting as a
/// proxy file cache in front of a real origin on loopback.
/// </summary>
public class XCacheRealXrootdTests
{
    private static readonly TimeSpan CopyTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Cache_from_generated_config_serves_a_file_from_the_origin_and_keeps_it_on_disk()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = cts.Token;
        await using var tree = XrootdTree.Create();
        // Several 1 MiB blocks, so the cache writes more than one block and its cinfo records them.
        var content = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 123);
        tree.WriteOriginFile("/store/mc/run1/events.root", content);

        var originPort = Ports.GetFree();
        await using var origin = await tree.StartOriginAsync(originPort, ct);

        var spec = new XCacheInstanceSpec
        {
            Origin = $"root://127.0.0.1:{originPort}",
            ExportedPaths = ["/store"],
            Ram = "1g",
            BlockSize = "1m",
            Prefetch = 2,
            Watermarks = new XCacheWatermarks { Low = "0.90", High = "0.95" },
        };
        XCacheValidator.Validate(new XCacheInstance { Metadata = new() { Name = "it" }, Spec = spec }).Should().BeEmpty();

        var cachePort = Ports.GetFree();
        spec.HttpPort = Ports.GetFree();
        var layout = tree.CacheLayout(cachePort, httpPort: spec.HttpPort);
        await using var cache = await StartCacheAsync(tree, XCacheSettings.FromSpec(spec, null), layout, ct);

        var copy = Path.Combine(tree.Client, "events.root");
        var (exitCode, output) = await TestProcess.RunAsync(Programs.Require("xrdcp"),
            ["--nopbar", "-f", $"root://127.0.0.1:{cachePort}//store/mc/run1/events.root", copy], timeout: CopyTimeout, cancellationToken: ct);
        exitCode.Should().Be(0, $"xrdcp output:\n{output}\ncache output:\n{cache.Output}");
        (await File.ReadAllBytesAsync(copy, ct)).Should().Equal(content);

        // The namespace entry and its cinfo point into the data and meta spaces the config names.
        var cachedData = Path.Combine(layout.NamespaceDirectory, "store/mc/run1/events.root");
        var cachedInfo = cachedData + ".cinfo";
        File.Exists(cachedInfo).Should().BeTrue($"the cache keeps the block map {cachedInfo}. Cache output:\n{cache.Output}");
        File.Exists(cachedData).Should().BeTrue();
        new FileInfo(cachedData).ResolveLinkTarget(returnFinalTarget: true)!.FullName.Should().StartWith(layout.DataDirectory);
        new FileInfo(cachedInfo).ResolveLinkTarget(returnFinalTarget: true)!.FullName.Should().StartWith(layout.MetaDirectory);
        (await File.ReadAllBytesAsync(cachedData, ct)).Should().Equal(content, "every block was read and written to the cache disk");

        // The same cache over HTTP (XrdHttp on spec.httpPort).
        var httpCopy = Path.Combine(tree.Client, "events-http.root");
        var (curlExit, curlOutput) = await TestProcess.RunAsync(Programs.Require("curl"),
            ["-sS", "--fail", "-o", httpCopy, $"http://127.0.0.1:{spec.HttpPort}/store/mc/run1/events.root"], timeout: CopyTimeout, cancellationToken: ct);
        curlExit.Should().Be(0, $"curl output:\n{curlOutput}\ncache output:\n{cache.Output}");
        (await File.ReadAllBytesAsync(httpCopy, ct)).Should().Equal(content);
    }

    [Fact]
    public async Task Cache_refuses_paths_it_does_not_export()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = cts.Token;
        await using var tree = XrootdTree.Create();
        tree.WriteOriginFile("/store/data/a.root", [1, 2, 3]);
        var originPort = Ports.GetFree();
        await using var origin = await tree.StartOriginAsync(originPort, ct);

        var spec = new XCacheInstanceSpec { Origin = $"root://127.0.0.1:{originPort}", ExportedPaths = ["/store/mc"], Ram = "1g" };
        var cachePort = Ports.GetFree();
        await using var cache = await StartCacheAsync(tree, XCacheSettings.FromSpec(spec, null), tree.CacheLayout(cachePort), ct);

        var (exitCode, output) = await TestProcess.RunAsync(Programs.Require("xrdcp"),
            ["--nopbar", "-f", $"root://127.0.0.1:{cachePort}//store/data/a.root", Path.Combine(tree.Client, "a.root")],
            timeout: CopyTimeout, cancellationToken: ct);
        exitCode.Should().NotBe(0, "only /store/mc is exported through the cache");
        File.Exists(Path.Combine(tree.Client, "a.root")).Should().BeFalse();
    }

    /// <summary>Writes the generated config, creates the directories the pod's startup command creates, starts xrootd as nobody.</summary>
    internal static async Task<TestProcess> StartCacheAsync(XrootdTree tree, XCacheSettings settings, XCacheLayout layout,
        CancellationToken cancellationToken, Func<string, TestProcess>? start = null)
    {
        foreach (var directory in layout.DirectoriesToCreate) Directory.CreateDirectory(directory);
        var configPath = Path.Combine(tree.Root, "cache", XCacheLayout.XrootdConfigFile);
        await File.WriteAllTextAsync(configPath, XCacheConfig.RenderXrootd(settings, layout), cancellationToken);
        if (settings.Tokens is not null)
        {
            await File.WriteAllTextAsync(layout.ScitokensConfigPath, XCacheConfig.RenderScitokens(settings.Tokens), cancellationToken);
        }
        await tree.GiveToServerUserAsync(cancellationToken);
        var cache = start?.Invoke(configPath)
            ?? TestProcess.Start(Programs.Require("xrootd"), ["-c", configPath], tree.Root, runAsUser: XrootdTree.ServerUser, name: "xrootd-cache");
        await XrootdTree.WaitForPortAsync(cache, layout.XrootPort);
        return cache;
    }
}
