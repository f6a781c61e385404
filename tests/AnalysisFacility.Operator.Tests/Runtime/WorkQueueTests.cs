using AnalysisFacility.Operator.Runtime.Queue;

namespace AnalysisFacility.Operator.Tests.Runtime;

public sealed class WorkQueueTests
{
    private static WorkQueue<string> NewQueue() =>
        new(new ExponentialFailureRateLimiter<string>(TimeSpan.FromMilliseconds(20), TimeSpan.FromSeconds(5)));

    [Fact]
    public async Task A_key_added_many_times_is_queued_once()
    {
        using var queue = NewQueue();
        for (var i = 0; i < 100; i++) queue.Add("ns/a");
        queue.Add("ns/b");
        queue.Depth.Should().Be(2);
        (await queue.GetAsync(CancellationToken.None)).Should().Be("ns/a");
        (await queue.GetAsync(CancellationToken.None)).Should().Be("ns/b");
        queue.Depth.Should().Be(0);
    }

    [Fact]
    public async Task A_key_being_processed_is_not_handed_out_again_until_done()
    {
        using var queue = NewQueue();
        queue.Add("ns/a");
        var first = await queue.GetAsync(CancellationToken.None);
        queue.Add("ns/a"); // an event arrives while a worker reconciles it
        queue.Depth.Should().Be(0, "a second worker must not get the same key concurrently");

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var second = () => queue.GetAsync(cts.Token);
        await second.Should().ThrowAsync<OperationCanceledException>();

        queue.Done(first);
        queue.Depth.Should().Be(1, "the change seen during processing must be reconciled afterwards");
        (await queue.GetAsync(CancellationToken.None)).Should().Be("ns/a");
    }

    [Fact]
    public async Task Concurrent_workers_never_process_the_same_key_at_once()
    {
        using var queue = NewQueue();
        var inFlight = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var overlaps = 0;
        var processed = 0;
        using var cts = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (!cts.IsCancellationRequested)
            {
                string key;
                try { key = await queue.GetAsync(cts.Token); } catch (OperationCanceledException) { return; }
                if (inFlight.AddOrUpdate(key, 1, (_, n) => n + 1) > 1) Interlocked.Increment(ref overlaps);
                await Task.Delay(1);
                inFlight.AddOrUpdate(key, 0, (_, n) => n - 1);
                Interlocked.Increment(ref processed);
                queue.Done(key);
            }
        })).ToList();
        for (var i = 0; i < 2000; i++) queue.Add($"ns/k{i % 10}");
        await Task.Delay(500);
        cts.Cancel();
        await Task.WhenAll(workers);
        overlaps.Should().Be(0);
        processed.Should().BeGreaterThan(0);
    }

    [Fact]
    public void Backoff_doubles_per_failure_and_is_capped_and_forgotten_on_success()
    {
        var limiter = new ExponentialFailureRateLimiter<string>(TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(1000));
        var delays = Enumerable.Range(0, 5).Select(_ => limiter.When("k")).ToList();
        delays.Select(d => d.TotalMilliseconds).Should().Equal(5, 10, 20, 40, 80);
        for (var i = 0; i < 40; i++) limiter.When("k");
        limiter.When("k").Should().Be(TimeSpan.FromSeconds(1000));
        limiter.Forget("k");
        limiter.When("k").Should().Be(TimeSpan.FromMilliseconds(5));
        limiter.When("other").Should().Be(TimeSpan.FromMilliseconds(5), "backoff is per key");
    }

    [Fact]
    public async Task Rate_limited_key_comes_back_after_its_backoff()
    {
        using var queue = NewQueue();
        var started = DateTime.UtcNow;
        queue.AddRateLimited("ns/a"); // 20 ms
        queue.AddRateLimited("ns/a"); // 40 ms: the earlier deadline wins, the key is queued once
        var key = await queue.GetAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);
        key.Should().Be("ns/a");
        (DateTime.UtcNow - started).Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(15));
        queue.Done(key);
        queue.Depth.Should().Be(0);
        await Task.Delay(100);
        queue.Depth.Should().Be(0, "the superseded deadline must not queue the key a second time");
    }

    [Fact]
    public void Token_bucket_allows_a_burst_then_spaces_requests()
    {
        var bucket = new TokenBucketRateLimiter<string>(qps: 10, burst: 3, TimeProvider.System);
        bucket.When("a").Should().Be(TimeSpan.Zero);
        bucket.When("b").Should().Be(TimeSpan.Zero);
        bucket.When("c").Should().Be(TimeSpan.Zero);
        bucket.When("d").Should().BeCloseTo(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(20));
    }
}
