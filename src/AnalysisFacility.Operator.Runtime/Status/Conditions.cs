namespace AnalysisFacility.Operator.Runtime.Status;

/// <summary>Condition status values and list helpers in the Kubernetes convention.</summary>
public static class Conditions
{
    public const string True = "True";
    public const string False = "False";
    public const string Unknown = "Unknown";
    public const string Ready = "Ready";

    /// <summary>
    /// Sets a condition in place. lastTransitionTime changes only when the status changes, so reconciling the same
    /// state twice yields an identical list (and no status write).
    /// </summary>
    /// <remarks>
    /// Existing entries are replaced, never mutated, because the list handed in is usually a copy of a cached
    /// object's list whose Condition instances are still shared with the cache.
    /// </remarks>
    public static void Set(List<Condition> conditions, string type, bool? status, string reason, string message,
        long? observedGeneration, DateTime now)
    {
        var value = status switch { true => True, false => False, null => Unknown };
        var index = conditions.FindIndex(c => c.Type == type);
        var existing = index >= 0 ? conditions[index] : null;
        var updated = new Condition
        {
            Type = type, Status = value, Reason = reason, Message = message, ObservedGeneration = observedGeneration,
            LastTransitionTime = existing is not null && existing.Status == value ? existing.LastTransitionTime : Truncate(now),
        };
        if (index >= 0) conditions[index] = updated;
        else conditions.Add(updated);
    }

    /// <summary>A copy of a (cached) condition list that can be changed with <see cref="Set"/>.</summary>
    public static List<Condition> Copy(IEnumerable<Condition>? conditions) => conditions is null ? [] : [.. conditions];

    public static Condition? Find(IEnumerable<Condition>? conditions, string type) =>
        conditions?.FirstOrDefault(c => c.Type == type);

    public static bool IsTrue(IEnumerable<Condition>? conditions, string type) => Find(conditions, type)?.Status == True;

    /// <summary>Removes conditions whose type is not in <paramref name="keep"/> (e.g. of a disabled component).</summary>
    public static void RemoveAllExcept(List<Condition> conditions, IReadOnlySet<string> keep) =>
        conditions.RemoveAll(c => !keep.Contains(c.Type));

    // The API server stores RFC 3339 with second precision: compare like with like.
    private static DateTime Truncate(DateTime time) =>
        new(time.Ticks - time.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
}
