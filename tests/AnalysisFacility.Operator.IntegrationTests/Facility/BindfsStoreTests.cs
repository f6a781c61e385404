using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Facility;
using AnalysisFacility.Operator.IntegrationTests.Support;

namespace AnalysisFacility.Operator.IntegrationTests.Facility;

/// <summary>The BindFS command line of the store DaemonSet run by the real bindfs on temporary directories.</summary>
public sealed class BindfsStoreTests : IDisposable
{
    private readonly string _source = Directory.CreateTempSubdirectory("af-store-src-").FullName;
    private readonly string _target = Directory.CreateTempSubdirectory("af-store-dst-").FullName;

    [Fact]
    public async Task Files_seen_through_the_mapping_get_the_facility_owner_group_and_permissions()
    {
        var userDirectory = Path.Combine(_source, "oshadura");
        Directory.CreateDirectory(userDirectory);
        var file = Path.Combine(userDirectory, "myfile2.txt");
        await File.WriteAllTextAsync(file, "hello");
        (await TestProcess.RunAsync("chmod", ["600", file])).ExitCode.Should().Be(0);

        var ownership = new StoreOwnership { ForceUser = "1000", ForceGroup = "100", Perms = "u=rwX:g=rwX:o=rX" };
        var arguments = UserStoreBuilder.BindfsArguments(ownership, _source, _target);
        await using var bindfs = TestProcess.Start(Programs.Require("bindfs"), arguments);
        await bindfs.WaitUntilAsync(() => Task.FromResult(File.Exists(Path.Combine(_target, "oshadura", "myfile2.txt"))),
            TimeSpan.FromSeconds(20), "the mapped view to appear");

        var (exit, output) = await TestProcess.RunAsync("stat", ["-c", "%u %g %A", Path.Combine(_target, "oshadura", "myfile2.txt")]);
        exit.Should().Be(0, output);
        output.Trim().Should().Be("1000 100 -rw-rw-r--");
        (await File.ReadAllTextAsync(Path.Combine(_target, "oshadura", "myfile2.txt"))).Should().Be("hello");
        await TestProcess.RunAsync(Programs.Require("fusermount"), ["-u", _target]);
    }

    public void Dispose()
    {
        // Unmount even when the test failed, before removing the directories (not mounted any more: umount just fails).
        using (var umount = System.Diagnostics.Process.Start("umount", ["-l", _target])) umount.WaitForExit();
        Directory.Delete(_target, recursive: true);
        Directory.Delete(_source, recursive: true);
    }
}
