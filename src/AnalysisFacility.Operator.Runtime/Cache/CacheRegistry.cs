using System.Collections.Concurrent;
using AnalysisFacility.Operator.Runtime.Client;

namespace AnalysisFacility.Operator.Runtime.Cache;

/// <summary>The informers of one operator, one per resource type, shared by every controller that needs that type.</summary>
public sealed class CacheRegistry
{
    private readonly ConcurrentDictionary<ResourceType, IInformer> _informers = new();

    public IEnumerable<IInformer> All => _informers.Values;

    public void Add(IInformer informer)
    {
        if (!_informers.TryAdd(informer.Type, informer)) throw new InvalidOperationException($"an informer for {informer.Type} already exists");
    }

    public IInformer? Find(ResourceType type) => _informers.TryGetValue(type, out var informer) ? informer : null;

    public bool AllSynced => _informers.Values.All(i => i.HasSynced);
}
