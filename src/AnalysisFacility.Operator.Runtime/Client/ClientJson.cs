using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;

namespace AnalysisFacility.Operator.Runtime.Client;

/// <summary>KubernetesClient's JSON settings (its converters for dates, quantities and int-or-string), read once, never changed.</summary>
public static class ClientJson
{
    public static JsonSerializerOptions Options { get; } = Capture();

    /// <summary>The JSON tree of a typed object, as KubernetesJson would write it (without a string in between).</summary>
    public static JsonObject ToNode(object obj) => JsonSerializer.SerializeToNode(obj, obj.GetType(), Options)!.AsObject();

    private static JsonSerializerOptions Capture()
    {
        JsonSerializerOptions? options = null;
        KubernetesJson.AddJsonOptions(o => options = o);
        return options!;
    }
}
