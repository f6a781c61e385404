using System.Globalization;
using k8s.Models;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>What the node offers the scheduler: cpu, memory, pods and extended resources such as nvidia.com/gpu.</summary>
public sealed record NodeCapacity(decimal Cpu, long MemoryBytes, int Pods, IReadOnlyDictionary<string, long> Extended)
{
    /// <summary>This machine's cores and memory, 110 pods, and no GPUs.</summary>
    public static NodeCapacity OfThisMachine(decimal? cpu = null, long? memoryBytes = null, long gpus = 0) =>
        new(cpu ?? Environment.ProcessorCount, memoryBytes ?? MachineMemory(), 110, new Dictionary<string, long> { ["nvidia.com/gpu"] = gpus });

    public decimal Allocatable(string resource) => resource switch
    {
        "cpu" => Cpu,
        "memory" => MemoryBytes,
        "pods" => Pods,
        _ => Extended.TryGetValue(resource, out var v) ? v : 0,
    };

    public IDictionary<string, ResourceQuantity> ToQuantities()
    {
        var quantities = new Dictionary<string, ResourceQuantity>
        {
            ["cpu"] = new(Cpu.ToString(CultureInfo.InvariantCulture)),
            ["memory"] = new(MemoryBytes.ToString(CultureInfo.InvariantCulture)),
            ["pods"] = new(Pods.ToString(CultureInfo.InvariantCulture)),
            ["ephemeral-storage"] = new("100Gi"),
        };
        foreach (var (name, value) in Extended) quantities[name] = new(value.ToString(CultureInfo.InvariantCulture));
        return quantities;
    }

    private static long MachineMemory()
    {
        var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
