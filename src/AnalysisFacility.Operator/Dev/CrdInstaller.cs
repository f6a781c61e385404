using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Runtime.Schema;

namespace AnalysisFacility.Operator.Dev;

/// <summary>Installs (server-side applies) the CRDs generated from the API types and waits until they are established.</summary>
[RequiresUnreferencedCode(CrdGenerator.Reflection), RequiresDynamicCode(CrdGenerator.Reflection)]
public static class CrdInstaller
{
    private static readonly ResourceType CrdType = new("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", Namespaced: false);

    public static async Task InstallAsync(KubernetesApi api, IEnumerable<Type> resourceTypes, CancellationToken cancellationToken)
    {
        var names = new List<string>();
        foreach (var type in resourceTypes)
        {
            var crd = CrdGenerator.ToJson(type);
            await api.ApplyAsync(CrdType, crd, "analysisfacility-operator", force: true, cancellationToken);
            names.Add(crd["metadata"]!["name"]!.GetValue<string>());
        }
        foreach (var name in names)
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                var live = await api.GetAsync(CrdType, null, name, cancellationToken);
                var established = live?["status"]?["conditions"]?.AsArray()
                    .Any(c => c?["type"]?.GetValue<string>() == "Established" && c["status"]?.GetValue<string>() == "True") ?? false;
                if (established) break;
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"CRD {name} not established within 60 s");
                await Task.Delay(100, cancellationToken);
            }
        }
    }

    /// <summary>The CRD object for one type (as JSON), e.g. for dry-run checks.</summary>
    public static JsonObject ToJson(Type resourceType) => CrdGenerator.ToJson(resourceType);
}
