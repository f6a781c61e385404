using k8s;
using k8s.Models;

namespace AnalysisFacility.Operator.Runtime.Cache;

/// <summary>The "namespace/name" key of an object (just "name" for cluster-scoped objects).</summary>
public readonly record struct ObjectKey(string? Namespace, string Name)
{
    public static ObjectKey Of(IKubernetesObject<V1ObjectMeta> obj) => new(obj.Metadata.NamespaceProperty, obj.Metadata.Name);

    public static ObjectKey Parse(string key)
    {
        var slash = key.IndexOf('/');
        return slash < 0 ? new ObjectKey(null, key) : new ObjectKey(key[..slash], key[(slash + 1)..]);
    }

    public override string ToString() => string.IsNullOrEmpty(Namespace) ? Name : $"{Namespace}/{Name}";
}
