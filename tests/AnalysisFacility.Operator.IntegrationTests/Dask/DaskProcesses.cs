using AnalysisFacility.Operator.Builders.Dask;
using AnalysisFacility.Operator.IntegrationTests.Support;
using k8s.Models;

namespace AnalysisFacility.Operator.IntegrationTests.Dask;

/// <summary>
/// Runs what the DaskCluster builder generates as real Debian dask processes on loopback: the container's environment
/// (with the TLS mount path pointed at a local directory) and the builder's command lines, bound to 127.0.0.1.
/// </summary>
internal sealed class DaskProcesses : IAsyncDisposable
{
    public const string Python = "/usr/bin/python3";
    private readonly List<TestProcess> _processes = [];

    public DaskProcesses()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("dask-it-").FullName;
        TlsDirectory = Path.Combine(Directory, "tls");
        System.IO.Directory.CreateDirectory(TlsDirectory);
    }

    public string Directory { get; }
    public string TlsDirectory { get; }

    /// <summary>Writes the TLS Secret's data where the environment now points (what the Secret volume does in a pod).</summary>
    public void MountSecret(V1Secret secret)
    {
        foreach (var (key, value) in secret.Data) File.WriteAllBytes(Path.Combine(TlsDirectory, key), value);
    }

    /// <summary>The literal environment of a generated container, with the TLS mount path rewritten to the local directory.</summary>
    public Dictionary<string, string> Environment(V1Container container)
    {
        var environment = container.Env.Where(variable => variable.Value is not null)
            .ToDictionary(variable => variable.Name, variable => variable.Value.Replace(DaskClusterBuilder.TlsMountPath, TlsDirectory));
        environment["DASK_TEMPORARY_DIRECTORY"] = Directory;
        return environment;
    }

    /// <summary>Starts `dask ...` with the builder's arguments (the first one, "dask", is the program).</summary>
    public TestProcess StartDask(IReadOnlyList<string> arguments, Dictionary<string, string> environment, string name)
    {
        arguments[0].Should().Be("dask");
        var process = TestProcess.Start(Programs.Require("dask", "/usr/bin"), arguments.Skip(1), Directory, environment, name: name);
        _processes.Add(process);
        return process;
    }

    public TestProcess StartPython(string script, IEnumerable<string> arguments, string name)
    {
        var process = TestProcess.Start(Python, new[] { "-c", script }.Concat(arguments), Directory, new Dictionary<string, string> { ["DASK_TEMPORARY_DIRECTORY"] = Directory }, name: name);
        _processes.Add(process);
        return process;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes) await process.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // a worker may still be flushing its scratch space; the temp directory is cleaned by the OS
        }
    }
}
