using System.Collections.Concurrent;
using AnalysisFacility.Operator.Builders.Facility;
using AnalysisFacility.Operator.Runtime.Cache;

namespace AnalysisFacility.Operator.Controllers.Facility;

/// <summary>
/// Paces changes to a facility's schedd identity map: a changed set of identities is published at most once per
/// interval, and until then the facility keeps the set it last published and asks to be reconciled when
/// the interval is over. Without this, a burst of logins feeds back on itself: each write of the map (one line per user,
/// a hundred kilobytes for a thousand users) is an event on an owned object, which reconciles the facility at once, which
/// finds more sessions and writes the map again.
/// </summary>
public sealed class IdentityMapThrottle(TimeSpan interval)
{
    // The users of each published set too: Publishes runs for every session event, on the informer's thread.
    private readonly ConcurrentDictionary<ObjectKey, (IReadOnlyList<ScitokensIdentity> Identities, HashSet<string> Users, DateTimeOffset At)> _published = new();

    /// <summary>The identities to write now, and when to look again if newer ones were held back.</summary>
    public (IReadOnlyList<ScitokensIdentity> Identities, TimeSpan? RetryAfter) Select(ObjectKey facility, IReadOnlyList<ScitokensIdentity> current, DateTimeOffset now)
    {
        if (_published.TryGetValue(facility, out var last))
        {
            if (last.Identities.SequenceEqual(current)) return (last.Identities, null);
            var since = now - last.At;
            if (since >= TimeSpan.Zero && since < interval) return (last.Identities, interval - since);
        }
        _published[facility] = (current, current.Select(i => i.User).ToHashSet(StringComparer.Ordinal), now);
        return (current, null);
    }

    /// <summary>Whether <paramref name="user"/> is in the map last published for <paramref name="facility"/>.</summary>
    public bool Publishes(ObjectKey facility, string user) =>
        _published.TryGetValue(facility, out var last) && last.Users.Contains(user);

    /// <summary>Forgets a deleted facility.</summary>
    public void Forget(ObjectKey facility) => _published.TryRemove(facility, out _);
}
