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
    public static void Set(List<Condition> conditions, string type, bool? status, string reason, string message,
        long? observedGeneration, DateTime now)
    {
        var value = status switch { true => True, false => False, null => Unknown };
        var existing = conditions.FirstOrDefault(c => c.Type == type);
        if (existing is null)
        {
            conditions.Add(new Condition
            {
                Type = type, Status = value, Reason = reason, Message = message,
                ObservedGeneration = observedGeneration, LastTransitionTime = Truncate(now),
            });
            return;
        }
        if (existing.Status != value) existing.LastTransitionTime = Truncate(now);
        existing.Status = value;
        existing.Reason = reason;
        existing.Message = message;
        existing.ObservedGeneration = observedGeneration;
    }

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
