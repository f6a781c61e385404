using System.Globalization;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Runtime.Metrics;
using k8s.Models;
using Serilog;

namespace AnalysisFacility.Operator.Runtime.Leader;

public sealed record LeaderElectionOptions
{
    public required string Namespace { get; init; }
    public string LeaseName { get; init; } = "analysisfacility-operator";
    public string Identity { get; init; } = $"{Environment.MachineName}-{Guid.NewGuid():N}";
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules: a lease is taken over only when its
/// holder has not renewed it for a whole lease duration as observed by us (no clock-skew assumptions); the leader
/// steps down when it cannot renew within the renew deadline; and, unlike KubernetesClient's LeaderElector, the
/// lease is released on graceful stop so a standby takes over at once.
/// </summary>
public sealed class LeaderElector(KubernetesApi api, LeaderElectionOptions options, OperatorMetrics metrics, ILogger log)
{
    private readonly ILogger _log = log.ForContext("Lease", $"{options.Namespace}/{options.LeaseName}");
    private string? _observedRecord;
    private DateTime _observedAt;
    private volatile bool _isLeader;

    public string Identity => options.Identity;
    public bool IsLeader => _isLeader;

    /// <summary>Campaigns until <paramref name="cancellationToken"/> fires; runs <paramref name="onLeading"/> while leading.</summary>
    public async Task RunAsync(Func<CancellationToken, Task> onLeading, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (!await AcquireAsync(cancellationToken)) return;
            _isLeader = true;
            metrics.IsLeader.Set(1);
            _log.Information("Became leader as {Identity}", options.Identity);
            using var leading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var work = Task.Run(() => onLeading(leading.Token), CancellationToken.None);
            await RenewUntilLostAsync(leading.Token);
            leading.Cancel();
            try
            {
                await work;
            }
            catch (OperationCanceledException)
            {
                // stopped because leadership ended
            }
            _isLeader = false;
            metrics.IsLeader.Set(0);
            if (cancellationToken.IsCancellationRequested)
            {
                await ReleaseAsync();
                return;
            }
            _log.Warning("Lost leadership; campaigning again");
        }
    }

    private async Task<bool> AcquireAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (await TryAcquireOrRenewAsync(cancellationToken)) return true;
                await Task.Delay(Jitter(options.RetryPeriod), cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }
        return false;
    }

    private async Task RenewUntilLostAsync(CancellationToken cancellationToken)
    {
        var lastRenew = DateTime.UtcNow;
        while (!cancellationToken.IsCancellationRequested)
        {
            bool renewed;
            try
            {
                await Task.Delay(options.RetryPeriod, cancellationToken);
                renewed = await TryAcquireOrRenewAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // A stop during a renew request must still end in RunAsync's release, or a standby waits a whole lease.
                return;
            }
            if (renewed) lastRenew = DateTime.UtcNow;
            else if (DateTime.UtcNow - lastRenew > options.RenewDeadline) return;
        }
    }

    private async Task<bool> TryAcquireOrRenewAsync(CancellationToken cancellationToken)
    {
        var type = api.Types.For<V1Lease>();
        var now = DateTime.UtcNow;
        try
        {
            var lease = await api.GetAsync(type, options.Namespace, options.LeaseName, cancellationToken);
            if (lease is null)
            {
                var created = new JsonObject
                {
                    ["apiVersion"] = "coordination.k8s.io/v1", ["kind"] = "Lease",
                    ["metadata"] = new JsonObject { ["name"] = options.LeaseName, ["namespace"] = options.Namespace },
                    ["spec"] = Spec(now, now, 0),
                };
                await api.CreateAsync(type, created, cancellationToken);
                return true;
            }

            var spec = lease["spec"] as JsonObject ?? new JsonObject();
            var holder = spec["holderIdentity"]?.GetValue<string>() ?? "";
            var record = spec.ToJsonString();
            if (record != _observedRecord)
            {
                _observedRecord = record;
                _observedAt = now;
            }
            var duration = TimeSpan.FromSeconds(spec["leaseDurationSeconds"]?.GetValue<int>() ?? (int)options.LeaseDuration.TotalSeconds);
            var heldByOther = holder.Length > 0 && holder != options.Identity;
            if (heldByOther && now < _observedAt + duration) return false;

            var transitions = spec["leaseTransitions"]?.GetValue<int>() ?? 0;
            var acquireTime = holder == options.Identity ? ParseTime(spec["acquireTime"]) ?? now : now;
            if (holder != options.Identity) transitions++;
            lease["spec"] = Spec(acquireTime, now, transitions);
            // PUT with the resourceVersion we read: if someone else wrote meanwhile we get 409 and lose this round.
            var updated = await api.ReplaceAsync(type, lease, cancellationToken);
            _observedRecord = updated["spec"]?.ToJsonString();
            _observedAt = now;
            return true;
        }
        catch (KubernetesApiException e) when (e.IsConflict || e.StatusCode == System.Net.HttpStatusCode.AlreadyReported || e.Reason == "AlreadyExists")
        {
            return false;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _log.Warning("Lease update failed: {Error}", e.Message);
            return false;
        }
    }

    private async Task ReleaseAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var type = api.Types.For<V1Lease>();
            var lease = await api.GetAsync(type, options.Namespace, options.LeaseName, timeout.Token);
            if (lease?["spec"]?["holderIdentity"]?.GetValue<string>() != options.Identity) return;
            var spec = lease["spec"]!.AsObject();
            spec["holderIdentity"] = "";
            spec["leaseDurationSeconds"] = 1;
            spec["renewTime"] = FormatTime(DateTime.UtcNow);
            await api.ReplaceAsync(type, lease, timeout.Token);
            _log.Information("Released the lease");
        }
        catch (Exception e)
        {
            _log.Warning("Could not release the lease: {Error}", e.Message);
        }
    }

    private JsonObject Spec(DateTime acquireTime, DateTime renewTime, int transitions) => new()
    {
        ["holderIdentity"] = options.Identity,
        ["leaseDurationSeconds"] = (int)options.LeaseDuration.TotalSeconds,
        ["acquireTime"] = FormatTime(acquireTime),
        ["renewTime"] = FormatTime(renewTime),
        ["leaseTransitions"] = transitions,
    };

    private static string FormatTime(DateTime time) => time.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    private static DateTime? ParseTime(JsonNode? node) =>
        node?.GetValue<string>() is { } text && DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t) ? t : null;

    private static TimeSpan Jitter(TimeSpan period) => period * (1 + Random.Shared.NextDouble() * 0.2);
}
