using System.Globalization;

namespace AnalysisFacility.Operator.Benchmarks;

/// <summary>
/// The machine's 1-minute load average (/proc/loadavg), printed beside every figure: on a shared 2-core machine a
/// figure means little without the load it was measured under.
/// </summary>
public static class MachineLoad
{
    public static double Now()
    {
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            return double.Parse(first, CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    public static string Describe(double start, double end) =>
        $"{start.ToString("F1", CultureInfo.InvariantCulture)} at the start, {end.ToString("F1", CultureInfo.InvariantCulture)} at the end, on {Environment.ProcessorCount} cores";
}
