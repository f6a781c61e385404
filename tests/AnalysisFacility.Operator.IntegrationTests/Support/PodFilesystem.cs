namespace AnalysisFacility.Operator.IntegrationTests.Support;

/// <summary>
/// Runs a program with directories mounted at the absolute paths a pod's volumes have (e.g. /etc/analysisfacility/...),
/// as the kubelet would, so generated files that name those paths are used unchanged. The mounts live in a private
/// mount namespace (unshare -m) over a throw-away overlay of /etc: the host's view is never changed. Needs root.
/// </summary>
internal static class PodFilesystem
{
    public static async Task<ProcessResult> RunAsync(IReadOnlyDictionary<string, string> mounts, string program, IEnumerable<string> arguments,
        IDictionary<string, string> environment, TimeSpan timeout)
    {
        Environment.UserName.Should().Be("root", "mount namespaces need root (the tests run as root, as the CI does)");
        var scratch = Directory.CreateTempSubdirectory("pod-fs-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(scratch, "upper"));
            Directory.CreateDirectory(Path.Combine(scratch, "work"));
            var script = new List<string>
            {
                "set -e",
                $"mount -t overlay overlay -o lowerdir=/etc,upperdir={Quote(Path.Combine(scratch, "upper"))},workdir={Quote(Path.Combine(scratch, "work"))} /etc",
            };
            foreach (var (target, source) in mounts)
            {
                target.Should().StartWith("/etc/", "only paths under /etc are overlaid");
                script.Add($"mkdir -p {Quote(target)}");
                script.Add($"mount --bind -o ro {Quote(source)} {Quote(target)}");
            }
            script.Add("exec \"$@\"");
            return await TestProcess.RunAsync("unshare", new[] { "-m", "--propagation", "private", "sh", "-c", string.Join("\n", script), "sh", program }.Concat(arguments),
                environment, timeout: timeout);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    private static string Quote(string text) => "'" + text.Replace("'", "'\\''") + "'";
}
