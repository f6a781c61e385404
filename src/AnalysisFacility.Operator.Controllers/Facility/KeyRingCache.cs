using System.Collections.Concurrent;
using AnalysisFacility.Operator.Tokens.Issuance;
using AnalysisFacility.Operator.Tokens.Keys;
using k8s.Models;

namespace AnalysisFacility.Operator.Controllers.Facility;

/// <summary>
/// The parsed key ring of each issuer key Secret, kept per Secret and resourceVersion. Parsing imports every key into
/// a native crypto object; doing that on every session reconcile cost CPU and left native memory waiting for
/// finalizers. One entry per Secret: a new version replaces the old one.
/// </summary>
public sealed class KeyRingCache
{
    private readonly ConcurrentDictionary<(string? Namespace, string Name), (string Version, IssuanceResult<KeyRing> Ring)> _rings = new();

    public IssuanceResult<KeyRing> Read(V1Secret secret)
    {
        // A Secret without a resourceVersion (never stored) has no version to key on: parse it, keep nothing.
        if (secret.Metadata.ResourceVersion is not { Length: > 0 }) return KeyRingSecret.FromSecretData(secret.Data);
        var key = (secret.Metadata.NamespaceProperty, secret.Metadata.Name);
        var version = $"{secret.Metadata.Uid}/{secret.Metadata.ResourceVersion}";
        if (_rings.TryGetValue(key, out var cached) && cached.Version == version) return cached.Ring;
        var read = KeyRingSecret.FromSecretData(secret.Data);
        _rings[key] = (version, read);
        return read;
    }

    public int Count => _rings.Count;
}
