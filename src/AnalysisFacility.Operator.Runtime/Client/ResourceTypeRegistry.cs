using System.Collections.Concurrent;
using System.Reflection;
using AnalysisFacility.Operator.Runtime.Schema;
using k8s.Models;

namespace AnalysisFacility.Operator.Runtime.Client;

/// <summary>Resolves <see cref="ResourceType"/> for CLR types (KubernetesClient models and our custom resources).</summary>
public sealed class ResourceTypeRegistry
{
    // Kinds whose scope cannot be read from the model attribute.
    private static readonly HashSet<string> ClusterScopedKinds =
        ["Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "StorageClass", "IngressClass"];

    private readonly ConcurrentDictionary<Type, ResourceType> _byType = new();
    private readonly ConcurrentDictionary<(string ApiVersion, string Kind), ResourceType> _byKind = new();

    public ResourceType For<T>() => For(typeof(T));

    public ResourceType For(Type type)
    {
        var resolved = _byType.GetOrAdd(type, Resolve);
        _byKind.TryAdd((resolved.ApiVersion, resolved.Kind), resolved);
        return resolved;
    }

    private static ResourceType Resolve(Type t)
    {
        if (t.GetCustomAttribute<CustomResourceAttribute>() is { } custom)
        {
            return new ResourceType(custom.Group, custom.Version, custom.Kind, custom.Plural, custom.Namespaced);
        }
        if (t.GetCustomAttribute<KubernetesEntityAttribute>() is { } entity)
        {
            return new ResourceType(entity.Group ?? "", entity.ApiVersion, entity.Kind, entity.PluralName,
                !ClusterScopedKinds.Contains(entity.Kind));
        }
        throw new ArgumentException($"{t.Name} is not a Kubernetes resource type");
    }

    /// <summary>The resource type of an object: by its apiVersion and kind when registered (a kind without a model, such as
    /// a third-party CRD written as an unstructured object) or seen before, else from its CLR type.</summary>
    public ResourceType Of(k8s.IKubernetesObject obj) =>
        _byKind.TryGetValue((obj.ApiVersion, obj.Kind), out var known) ? known : For(obj.GetType());

    /// <summary>Registers a kind that has no CLR type (e.g. a third-party CRD handled as JSON).</summary>
    public void Register(ResourceType resourceType) => _byKind[(resourceType.ApiVersion, resourceType.Kind)] = resourceType;

    /// <summary>
    /// Finds the resource type of an object by apiVersion and kind: a kind registered, or resolved from its CLR type before,
    /// or one of the common built-in kinds (no assembly is searched: a trimmed, native operator keeps only the types it
    /// uses). Use <see cref="For{T}"/> or <see cref="Register"/> for others.
    /// </summary>
    public ResourceType ForKind(string apiVersion, string kind)
    {
        if (_byKind.TryGetValue((apiVersion, kind), out var known)) return known;
        if (BuiltIn.TryGetValue((apiVersion, kind), out var model)) return For(model);
        throw new ArgumentException($"unknown kind {apiVersion}/{kind}; register it first");
    }

    private static readonly Dictionary<(string ApiVersion, string Kind), Type> BuiltIn = new[]
    {
        typeof(V1Namespace), typeof(V1Node), typeof(V1Pod), typeof(V1Service), typeof(V1Endpoints), typeof(V1ServiceAccount),
        typeof(V1ConfigMap), typeof(V1Secret), typeof(V1PersistentVolume), typeof(V1PersistentVolumeClaim), typeof(Corev1Event),
        typeof(V1Deployment), typeof(V1StatefulSet), typeof(V1DaemonSet), typeof(V1ReplicaSet), typeof(V1Job),
        typeof(V1Role), typeof(V1RoleBinding), typeof(V1ClusterRole), typeof(V1ClusterRoleBinding),
        typeof(V1NetworkPolicy), typeof(V1Ingress), typeof(V1StorageClass), typeof(V1Lease), typeof(V1CustomResourceDefinition),
    }.ToDictionary(t => (ApiVersionOf(t.GetCustomAttribute<KubernetesEntityAttribute>()!), t.GetCustomAttribute<KubernetesEntityAttribute>()!.Kind));

    private static string ApiVersionOf(KubernetesEntityAttribute entity) =>
        string.IsNullOrEmpty(entity.Group) ? entity.ApiVersion : $"{entity.Group}/{entity.ApiVersion}";
}
