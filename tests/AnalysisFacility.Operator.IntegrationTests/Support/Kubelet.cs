using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Runtime.Client;
using k8s.Models;

namespace AnalysisFacility.Operator.IntegrationTests.Support;

/// <summary>
/// There is no kubelet in the test control plane: this plays its part by patching pod status the way a kubelet
/// reports a running, ready pod.
/// </summary>
public static class Kubelet
{
    public static async Task MarkPodReadyAsync(KubernetesApi api, string @namespace, string name, string podIp = "10.244.0.10",
        bool ready = true, CancellationToken cancellationToken = default)
    {
        var now = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ");
        var readyText = ready ? "True" : "False";
        var pod = await api.GetAsync(api.Types.For<V1Pod>(), @namespace, name, cancellationToken)
                  ?? throw new InvalidOperationException($"pod {@namespace}/{name} not found");
        var containers = pod["spec"]!["containers"]!.AsArray().Select(c => (JsonNode)new JsonObject
        {
            ["name"] = c!["name"]!.GetValue<string>(), ["ready"] = ready, ["restartCount"] = 0,
            ["image"] = c["image"]!.GetValue<string>(), ["imageID"] = "", ["started"] = true,
            ["state"] = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = now } },
        }).ToArray();
        var status = new JsonObject
        {
            ["status"] = new JsonObject
            {
                ["phase"] = "Running",
                ["podIP"] = podIp,
                ["podIPs"] = new JsonArray(new JsonObject { ["ip"] = podIp }),
                ["hostIP"] = "127.0.0.1",
                ["startTime"] = now,
                ["conditions"] = new JsonArray(
                    new JsonObject { ["type"] = "Initialized", ["status"] = "True", ["lastTransitionTime"] = now },
                    new JsonObject { ["type"] = "ContainersReady", ["status"] = readyText, ["lastTransitionTime"] = now },
                    new JsonObject { ["type"] = "Ready", ["status"] = readyText, ["lastTransitionTime"] = now },
                    new JsonObject { ["type"] = "PodScheduled", ["status"] = "True", ["lastTransitionTime"] = now }),
                ["containerStatuses"] = new JsonArray(containers),
            },
        };
        await api.PatchAsync(api.Types.For<V1Pod>(), @namespace, name, status.ToJsonString(), KubernetesApi.MergePatch,
            cancellationToken, subresource: "status");
    }

    /// <summary>Marks every pod matching <paramref name="labelSelector"/> ready; returns how many.</summary>
    public static async Task<int> MarkPodsReadyAsync(KubernetesApi api, string @namespace, string? labelSelector = null,
        CancellationToken cancellationToken = default)
    {
        var page = await api.ListAsync(api.Types.For<V1Pod>(), @namespace, labelSelector, 500, null, cancellationToken);
        var n = 0;
        foreach (var pod in page.Items)
        {
            await MarkPodReadyAsync(api, @namespace, pod["metadata"]!["name"]!.GetValue<string>(), $"10.244.{n / 250}.{n % 250 + 2}",
                cancellationToken: cancellationToken);
            n++;
        }
        return n;
    }
}
