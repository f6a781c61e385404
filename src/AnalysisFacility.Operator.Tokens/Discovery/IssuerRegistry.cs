using System.Collections.Immutable;
using AnalysisFacility.Operator.Tokens.Keys;

namespace AnalysisFacility.Operator.Tokens.Discovery;

/// <summary>
/// The issuers the operator serves, keyed by the path of the issuer URL (one process serves many facilities).
/// Controllers publish after every key rotation; readers get an immutable snapshot without locking.
/// </summary>
public sealed class IssuerRegistry
{
    private readonly object _writeGate = new();
    private ImmutableDictionary<string, PublishedIssuer> _byPath = ImmutableDictionary.Create<string, PublishedIssuer>(StringComparer.Ordinal);

    /// <summary>The current snapshot, by issuer path ("" for an issuer at the host root).</summary>
    public ImmutableDictionary<string, PublishedIssuer> Snapshot => Volatile.Read(ref _byPath);

    /// <summary>
    /// Publishes (or replaces) the documents of <paramref name="owner"/> (e.g. "namespace/facility").
    /// Returns an error when another owner already serves the same issuer path.
    /// </summary>
    public string? Publish(string owner, string issuer, KeyRing ring, RobotGrants? robots = null)
    {
        var path = PathOf(issuer);
        var withRobots = robots is { Clients.Count: > 0 } ? robots : null;
        var entry = new PublishedIssuer(owner, issuer, path, IssuerDocuments.Discovery(issuer, ring, withRobots is not null), IssuerDocuments.Jwks(ring), withRobots);
        lock (_writeGate)
        {
            var current = _byPath;
            if (current.TryGetValue(path, out var existing) && existing.Owner != owner)
            {
                return $"spec.tokens.issuer: the path '{path}' is already served for {existing.Owner}; every facility needs its own issuer path";
            }
            var updated = current.RemoveRange(current.Values.Where(e => e.Owner == owner).Select(e => e.Path)).SetItem(path, entry);
            Volatile.Write(ref _byPath, updated);
            return null;
        }
    }

    public void Remove(string owner)
    {
        lock (_writeGate)
        {
            var current = _byPath;
            Volatile.Write(ref _byPath, current.RemoveRange(current.Values.Where(e => e.Owner == owner).Select(e => e.Path)));
        }
    }

    public PublishedIssuer? FindByPath(string path) => Snapshot.TryGetValue(path, out var entry) ? entry : null;

    /// <summary>The path component of an issuer URL, without trailing slash ("" for the root).</summary>
    public static string PathOf(string issuer) => new Uri(issuer, UriKind.Absolute).AbsolutePath.TrimEnd('/');
}
