using System.Diagnostics;
using System.Runtime.Versioning;
using AnalysisFacility.Operator.Builders.Facility;

namespace AnalysisFacility.Operator.Tests.Facility;

/// <summary>The schedd pod's entry script, run by the real /bin/sh with a stand-in condor_master (HTCondor is not packaged here).</summary>
[SupportedOSPlatform("linux")]
public sealed class CondorMasterScriptTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("condor-master-script").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_changed_map_file_reconfigures_the_master_and_sigterm_stops_it()
    {
        var map = Path.Combine(_dir, "scitokens.map");
        var log = Path.Combine(_dir, "master.log");
        await File.WriteAllTextAsync(map, "SCITOKENS /^issuer,alice$/ alice@af\n");
        // Stand-in for condor_master -f: logs SIGHUP as HTCondor's reconfig, exits 0 on SIGTERM.
        var master = Path.Combine(_dir, "condor_master");
        await File.WriteAllTextAsync(master, $"""
            #!/bin/sh
            trap 'echo reconfig >> {log}' HUP
            trap 'echo stopped >> {log}; exit 0' TERM
            echo started >> {log}
            while true; do sleep 0.1; done
            """);
        File.SetUnixFileMode(master, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        // SIGHUP back to its default: a test run started under nohup passes SIGHUP on ignored, and a shell cannot trap a
        // signal ignored at its start, so the stand-in master would never see the reconfig (a pod's container starts
        // with default dispositions).
        var info = new ProcessStartInfo("env") { UseShellExecute = false };
        info.ArgumentList.Add("--default-signal=HUP");
        info.ArgumentList.Add("/bin/sh");
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(HTCondorBuilder.MasterScript(map, checkSeconds: 1));
        info.Environment["PATH"] = _dir + ":" + Environment.GetEnvironmentVariable("PATH");
        using var script = Process.Start(info)!;
        try
        {
            await WaitForAsync(() => Lines(log).Contains("started"));
            await Task.Delay(TimeSpan.FromSeconds(2.5));
            Lines(log).Should().NotContain("reconfig", "the map has not changed");

            // The kubelet swaps the file in atomically when the ConfigMap changes (a rename, never a truncate-and-write,
            // which the script could see half-written and count as two changes).
            var next = map + ".next";
            await File.WriteAllTextAsync(next, "SCITOKENS /^issuer,alice$/ alice@af\nSCITOKENS /^issuer,bob$/ bob@af\n");
            File.Move(next, map, overwrite: true);
            await WaitForAsync(() => Lines(log).Count(l => l == "reconfig") == 1);

            Process.Start("kill", ["-TERM", script.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await script.WaitForExitAsync(exit.Token);
            script.ExitCode.Should().Be(0);
            Lines(log).Should().Contain("stopped");
        }
        finally
        {
            if (!script.HasExited) script.Kill(entireProcessTree: true);
        }
    }

    private static string[] Lines(string path) => File.Exists(path) ? File.ReadAllLines(path) : [];

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met in 15 s");
            await Task.Delay(100);
        }
    }
}
