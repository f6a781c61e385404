using System.Collections.Immutable;

namespace AnalysisFacility.Operator.Tokens.Keys;

/// <summary>One key of the ring and its schedule.</summary>
/// <param name="PublishedAt">When it first appeared in the JWKS.</param>
/// <param name="SignsFrom">When it starts signing (at least the lead time after publication, except for the first key).</param>
/// <param name="SignsUntil">When its successor takes over; null while no successor is scheduled.</param>
public sealed record KeyRingEntry(SigningKey Key, DateTimeOffset PublishedAt, DateTimeOffset SignsFrom, DateTimeOffset? SignsUntil)
{
    /// <summary>Every token this key signed has expired and every consumer's cache has refreshed by then.</summary>
    public DateTimeOffset? UnpublishAt(RotationPolicy policy) => SignsUntil + policy.MaxTokenLifetime + policy.KeyCacheTime;

    public bool SignsAt(DateTimeOffset now) => SignsFrom <= now && (SignsUntil is null || now < SignsUntil);
}

/// <summary>Outcome of <see cref="KeyRing.Rotate"/>: the new ring and whether the Secret holding it must be rewritten.</summary>
public sealed record RotationResult(KeyRing Ring, bool Changed);

/// <summary>
/// The facility's signing keys: immutable; <see cref="Rotate"/> returns a new ring.
/// Every key in the ring is published in the JWKS. Invariants that keep rotation from failing a valid token:
/// a successor is published at least <see cref="RotationPolicy.PublishLeadTime"/> before it signs (so consumers
/// that cached the JWKS already know it), and a retired key stays until its last token expired plus
/// <see cref="RotationPolicy.KeyCacheTime"/>.
/// </summary>
public sealed class KeyRing
{
    public KeyRing(IEnumerable<KeyRingEntry> entries)
    {
        Entries = [.. entries.OrderByDescending(e => e.SignsFrom)];
    }

    public static KeyRing Empty { get; } = new([]);

    /// <summary>Entries, newest (latest <see cref="KeyRingEntry.SignsFrom"/>) first.</summary>
    public ImmutableArray<KeyRingEntry> Entries { get; }

    /// <summary>The keys to publish in the JWKS, newest first.</summary>
    public IEnumerable<SigningKey> PublishedKeys => Entries.Select(e => e.Key);

    /// <summary>The key that signs tokens at <paramref name="now"/>, or null when the ring has none (call Rotate).</summary>
    public KeyRingEntry? ActiveAt(DateTimeOffset now) => Entries.FirstOrDefault(e => e.SignsAt(now));

    public KeyRingEntry? Find(string keyId) => Entries.FirstOrDefault(e => e.Key.KeyId == keyId);

    /// <summary>
    /// Brings the ring up to date at <paramref name="now"/>: creates the first key, schedules a successor once the
    /// active key is within the lead time of its period's end (or the algorithm / RSA size changed), and drops retired
    /// keys whose tokens can no longer be valid anywhere.
    /// </summary>
    public RotationResult Rotate(DateTimeOffset now, RotationPolicy policy, ISigningKeyGenerator? generator = null)
    {
        generator ??= SigningKeyGenerator.Instance;
        if (Entries.IsEmpty)
        {
            // Nobody can have cached keys of an issuer that never signed: the first key signs at once.
            var first = generator.Generate(policy.Algorithm, policy.RsaKeySize);
            return new RotationResult(new KeyRing([new KeyRingEntry(first, now, now, null)]), true);
        }

        var entries = Entries.ToList();
        var changed = false;

        // The active key's UnpublishAt is null or in the future, so this never removes the key signing now.
        if (entries.RemoveAll(e => e.UnpublishAt(policy) is { } gone && now >= gone) > 0) changed = true;

        var active = entries.FirstOrDefault(e => e.SignsAt(now));
        var pending = entries.FirstOrDefault(e => e.SignsFrom > now);
        if (active is null && pending is null)
        {
            // Only retired keys are left (a hand-edited Secret): without a signer no token can be minted, so sign at once.
            entries.Add(new KeyRingEntry(generator.Generate(policy.Algorithm, policy.RsaKeySize), now, now, null));
            changed = true;
        }
        else if (active is not null && pending is null && NeedsSuccessor(active, now, policy))
        {
            var successor = generator.Generate(policy.Algorithm, policy.RsaKeySize);
            var policyChanged = !MatchesPolicy(active.Key, policy);
            var startsAt = policyChanged
                ? now + policy.PublishLeadTime
                : Max(active.SignsFrom + policy.Period, now + policy.PublishLeadTime);
            entries.Remove(active);
            entries.Add(active with { SignsUntil = startsAt });
            entries.Add(new KeyRingEntry(successor, now, startsAt, null));
            changed = true;
        }
        return new RotationResult(changed ? new KeyRing(entries) : this, changed);
    }

    /// <summary>When <see cref="Rotate"/> next has something to do after <paramref name="now"/> (the controller requeues then).</summary>
    public DateTimeOffset? NextChangeAt(DateTimeOffset now, RotationPolicy policy)
    {
        if (Entries.IsEmpty) return now;
        var newest = Entries[0];
        var times = new List<DateTimeOffset>
        {
            // Either the pending successor starts signing, or the active key enters its lead time.
            newest.SignsFrom > now ? newest.SignsFrom : newest.SignsFrom + policy.Period - policy.PublishLeadTime,
        };
        times.AddRange(Entries.Select(e => e.UnpublishAt(policy)).OfType<DateTimeOffset>());
        var future = times.Where(t => t > now).ToList();
        return future.Count == 0 ? now : future.Min();
    }

    private static bool NeedsSuccessor(KeyRingEntry active, DateTimeOffset now, RotationPolicy policy) =>
        !MatchesPolicy(active.Key, policy) || now >= active.SignsFrom + policy.Period - policy.PublishLeadTime;

    private static bool MatchesPolicy(SigningKey key, RotationPolicy policy) =>
        key.Algorithm == policy.Algorithm && (key.Algorithm != Jose.JwsAlgorithms.RS256 || key.KeySize == policy.RsaKeySize);

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
