using System.Globalization;
using System.Text.RegularExpressions;
using k8s.Models;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>The downward API's values: pod fields and container resources, as the kubelet formats them.</summary>
public static partial class DownwardApi
{
    public static string Field(V1Pod pod, string path, string? podIp)
    {
        var match = IndexedField().Match(path);
        if (match.Success)
        {
            var map = match.Groups[1].Value == "labels" ? pod.Metadata.Labels : pod.Metadata.Annotations;
            return map is not null && map.TryGetValue(match.Groups[2].Value, out var v) ? v : "";
        }
        return path switch
        {
            "metadata.name" => pod.Metadata.Name,
            "metadata.namespace" => pod.Metadata.NamespaceProperty,
            "metadata.uid" => pod.Metadata.Uid,
            "metadata.labels" => Lines(pod.Metadata.Labels),
            "metadata.annotations" => Lines(pod.Metadata.Annotations),
            "spec.nodeName" => pod.Spec.NodeName ?? "",
            "spec.serviceAccountName" => pod.Spec.ServiceAccountName ?? "default",
            "status.hostIP" => podIp ?? "",
            "status.podIP" or "status.podIPs" => podIp ?? "",
            _ => throw new VolumeNotReadyException($"unsupported downward API field '{path}'"),
        };
    }

    /// <summary>A container resource divided by its divisor and rounded up; limits fall back to the node's allocatable.</summary>
    public static string Resource(V1Pod pod, V1ResourceFieldSelector selector, V1Container? container, NodeCapacity? node = null)
    {
        var target = container ?? pod.Spec.Containers.FirstOrDefault(c => c.Name == selector.ContainerName) ?? pod.Spec.Containers[0];
        var (kind, resource) = selector.Resource.Split('.', 2) switch { [var k, var r] => (k, r), _ => ("limits", selector.Resource) };
        var values = kind == "requests" ? target.Resources?.Requests : target.Resources?.Limits;
        decimal amount;
        if (values is not null && values.TryGetValue(resource, out var q)) amount = q.ToDecimal();
        else if (kind == "limits" && node is not null) amount = node.Allocatable(resource);
        else amount = 0;
        var divisor = selector.Divisor?.ToDecimal() is { } d && d != 0 ? d : 1m;
        return decimal.Ceiling(amount / divisor).ToString(CultureInfo.InvariantCulture);
    }

    private static string Lines(IDictionary<string, string>? map) =>
        map is null ? "" : string.Join("\n", map.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}=\"{p.Value}\""));

    [GeneratedRegex(@"^metadata\.(labels|annotations)\['(.+)'\]$")]
    private static partial Regex IndexedField();
}
