using System.Net;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.Operator.Runtime.Client;
using k8s.Models;

namespace AnalysisFacility.Operator.Dev;

/// <summary>
/// In a cluster the chart's Service `analysisfacility-operator-issuer` selects the operator's pods. In `dev` the
/// operator runs on this machine, so the same Service has no selector and one endpoint: the node's address, where the
/// operator's issuer listens. Pods find the issuer by the name they would use in a cluster.
/// </summary>
public static class DevIssuerService
{
    public static async Task ApplyAsync(KubernetesApi api, OperatorSettings settings, IPAddress address, int port, CancellationToken ct)
    {
        var meta = new JsonObject { ["name"] = settings.IssuerServiceName, ["namespace"] = settings.OperatorNamespace };
        var service = new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Service", ["metadata"] = meta.DeepClone(),
            // The chart's Service port (the settings' issuer Service port -> the issuer's HTTPS port).
            ["spec"] = new JsonObject { ["ports"] = new JsonArray(new JsonObject { ["name"] = "https", ["protocol"] = "TCP", ["port"] = settings.IssuerServicePort, ["targetPort"] = port }) },
        };
        var endpoints = new JsonObject
        {
            ["apiVersion"] = "v1", ["kind"] = "Endpoints", ["metadata"] = meta.DeepClone(),
            ["subsets"] = new JsonArray(new JsonObject
            {
                ["addresses"] = new JsonArray(new JsonObject { ["ip"] = address.ToString() }),
                ["ports"] = new JsonArray(new JsonObject { ["name"] = "https", ["protocol"] = "TCP", ["port"] = port }),
            }),
        };
        await api.ApplyAsync(api.Types.For<V1Service>(), service, "analysisfacility-dev", force: true, ct);
        await api.ApplyAsync(api.Types.For<V1Endpoints>(), endpoints, "analysisfacility-dev", force: true, ct);
    }
}
