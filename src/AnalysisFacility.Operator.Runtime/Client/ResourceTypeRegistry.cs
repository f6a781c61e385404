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

    /// <summary>Registers a kind that has no CLR type (e.g. a third-party CRD handled as JSON).</summary>
    public void Register(ResourceType resourceType) => _byKind[(resourceType.ApiVersion, resourceType.Kind)] = resourceType;

    /// <summary>Finds the resource type of an object by apiVersion and kind.</summary>
    public ResourceType ForKind(string apiVersion, string kind)
    {
        if (_byKind.TryGetValue((apiVersion, kind), out var known)) return known;
        var group = apiVersion.Contains('/') ? apiVersion[..apiVersion.IndexOf('/')] : "";
        var version = apiVersion.Contains('/') ? apiVersion[(apiVersion.IndexOf('/') + 1)..] : apiVersion;
        var model = typeof(V1Pod).Assembly.GetTypes().FirstOrDefault(t =>
            t.GetCustomAttribute<KubernetesEntityAttribute>() is { } e && e.Kind == kind && e.ApiVersion == version && (e.Group ?? "") == group)
            // Custom resource types of loaded assemblies (the operator's own API).
            ?? AppDomain.CurrentDomain.GetAssemblies().Where(a => !a.IsDynamic).SelectMany(SafeTypes).FirstOrDefault(t =>
                t.GetCustomAttribute<CustomResourceAttribute>() is { } c && c.Kind == kind && c.Version == version && c.Group == group);
        if (model is null) throw new ArgumentException($"unknown kind {apiVersion}/{kind}; register it first");
        return For(model);
    }

    private static IEnumerable<Type> SafeTypes(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            return e.Types.OfType<Type>();
        }
    }
}
