using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Runtime.Client;
using k8s.Models;

namespace AnalysisFacility.Operator.Dev;

/// <summary>Which pods of the local facility really run, which cannot run here and why (what `dev --once` ends with).</summary>
public sealed record DevPodReport(string Table, bool Settled)
{
    public static async Task<DevPodReport> BuildAsync(KubernetesApi api, CancellationToken ct)
    {
        var page = await api.ListAsync(api.Types.For<V1Pod>(), null, null, 500, null, ct);
        var rows = new List<string[]> { new[] { "POD", "PHASE", "READY", "RUNS HERE", "WHY NOT / STATE" } };
        var settled = true;
        foreach (var pod in page.Items.OrderBy(p => $"{p["metadata"]!["namespace"]}/{p["metadata"]!["name"]}", StringComparer.Ordinal))
        {
            var status = pod["status"];
            var phase = status?["phase"]?.GetValue<string>() ?? "Pending";
            var ready = status?["conditions"]?.AsArray().Any(c => c?["type"]?.GetValue<string>() == "Ready" && c["status"]?.GetValue<string>() == "True") == true;
            var containers = status?["containerStatuses"]?.AsArray().OfType<JsonNode>().ToList() ?? [];
            var waiting = containers.Select(c => (Name: c["name"]!.GetValue<string>(), Reason: c["state"]?["waiting"]?["reason"]?.GetValue<string>(), Message: c["state"]?["waiting"]?["message"]?.GetValue<string>()))
                .Where(c => c.Reason is not null).ToList();
            var notRunnable = waiting.Where(w => w.Reason == "ImageNotRunnableHere").ToList();
            var scheduled = status?["conditions"]?.AsArray().FirstOrDefault(c => c?["type"]?.GetValue<string>() == "PodScheduled");
            string runs, why;
            if (scheduled?["status"]?.GetValue<string>() == "False")
            {
                runs = "no";
                why = $"not scheduled: {scheduled["message"]?.GetValue<string>()}";
            }
            else if (notRunnable.Count > 0)
            {
                runs = "no";
                why = string.Join("; ", notRunnable.Select(w => $"{w.Name}: {w.Message}"));
            }
            else if (ready)
            {
                runs = "yes";
                why = "";
            }
            else
            {
                runs = containers.Any(c => c["state"]?["running"] is not null) ? "yes" : "not yet";
                // A crash loop says why in the container's last words (e.g. "condor_master: not found").
                var logs = AnalysisFacility.LocalCluster.Node.NodeLogs.Find($"{pod["metadata"]!["namespace"]}/{pod["metadata"]!["name"]}");
                string LastWords(string container) => logs.TryGetValue(container, out var file) ? LastLine(file) : "";
                why = string.Join("; ", waiting.Select(w => $"{w.Name}: {w.Reason}{(w.Reason == "CrashLoopBackOff" ? $" ({LastWords(w.Name)})" : $" {w.Message}")}".Trim()))
                      + (status?["message"]?.GetValue<string>() is { Length: > 0 } m ? $" {m}" : "");
                if (waiting.Any(w => w.Reason is "ContainerCreating" or "CreateContainerConfigError")) settled = false;
            }
            rows.Add([$"{pod["metadata"]!["namespace"]}/{pod["metadata"]!["name"]}", phase, ready ? "yes" : "no", runs, why.Length > 160 ? why[..160] + "..." : why]);
        }
        var widths = Enumerable.Range(0, 4).Select(i => rows.Max(r => r[i].Length)).ToArray();
        var table = string.Join("\n", rows.Select(r => string.Join("  ", r.Select((c, i) => i < 4 ? c.PadRight(widths[i]) : c))));
        return new DevPodReport(table, settled);
    }

    private static string LastLine(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(Math.Max(0, stream.Length - 4096), SeekOrigin.Begin);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
    }
}
