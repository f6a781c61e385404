using k8s;
using k8s.Models;

namespace AnalysisFacility.Operator.Runtime.Controllers;

/// <summary>What a reconcile asks for next: nothing, or another look after a delay (e.g. a token refresh).</summary>
public readonly record struct ReconcileResult(TimeSpan? RequeueAfter)
{
    public static ReconcileResult Done => new(null);
    public static ReconcileResult After(TimeSpan delay) => new(delay);

    /// <summary>Another look just after <paramref name="at"/> (a second later, so the moment has surely passed), or in a second when it has.</summary>
    public static ReconcileResult At(DateTimeOffset at, DateTimeOffset now) =>
        new(at > now ? at - now + TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(1));

    /// <summary>The earlier of two requests.</summary>
    public ReconcileResult Merge(ReconcileResult other) => (RequeueAfter, other.RequeueAfter) switch
    {
        (null, _) => other,
        (_, null) => this,
        var (a, b) => new ReconcileResult(a < b ? a : b),
    };
}

/// <summary>
/// Brings the world in line with one resource. Called with the cached object; must be idempotent and
/// level-triggered (derive everything from the current state, never from the event that caused the call).
/// Throwing retries the key with exponential backoff.
/// </summary>
public interface IReconciler<in T> where T : IKubernetesObject<V1ObjectMeta>
{
    Task<ReconcileResult> ReconcileAsync(T resource, CancellationToken cancellationToken);
}

/// <summary>Cleanup that garbage collection cannot do, run while the resource carries the finalizer and is being deleted.</summary>
public interface IFinalizer<in T> where T : IKubernetesObject<V1ObjectMeta>
{
    /// <summary>The finalizer name, e.g. analysisfacility.io/cleanup.</summary>
    string Name { get; }

    /// <summary>Returns Done when cleanup is complete (the finalizer is then removed), or asks to be called again.</summary>
    Task<ReconcileResult> FinalizeAsync(T resource, CancellationToken cancellationToken);
}
