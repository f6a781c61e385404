using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Runtime.Leader;
using AnalysisFacility.Operator.Runtime.Metrics;
using k8s.Models;

namespace AnalysisFacility.Operator.IntegrationTests.Runtime;

/// <summary>The generic runtime against the real control plane: reconcile loop, owners, finalizers, writes, leader election.</summary>
[Collection(ControlPlaneCollection.Name)]
public sealed class RuntimeTests(ControlPlaneFixture fixture)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Reconciles_children_with_owner_references_and_puts_back_a_deleted_child()
    {
        var ns = await fixture.CreateNamespaceAsync("rt-owner");
        var (manager, reconciler) = MirrorReconciler.Create(fixture.Plane.AdminConfiguration(), ns);
        await using var running = new RunningManager(manager);
        await fixture.Api.CreateAsync(fixture.Api.Types.For<DaskCluster>(), MirrorReconciler.Resource(ns, "a", "img:1"), default);

        var configMaps = fixture.Api.Types.For<V1ConfigMap>();
        await Eventually.TrueAsync(async () => await fixture.Api.GetAsync(configMaps, ns, "a-mirror", default) is not null, Timeout, "child created");
        var child = (await fixture.Api.GetAsync(configMaps, ns, "a-mirror", default))!;
        child["metadata"]!["ownerReferences"]![0]!["kind"]!.GetValue<string>().Should().Be("DaskCluster");
        child["metadata"]!["ownerReferences"]![0]!["controller"]!.GetValue<bool>().Should().BeTrue();

        // Deleting the child is an event on an owned object: the owner is reconciled and the child comes back.
        await fixture.Api.DeleteAsync(configMaps, ns, "a-mirror", default);
        await Eventually.TrueAsync(async () =>
        {
            var again = await fixture.Api.GetAsync(configMaps, ns, "a-mirror", default);
            return again is not null && again["metadata"]!["uid"]!.GetValue<string>() != child["metadata"]!["uid"]!.GetValue<string>();
        }, Timeout, "deleted child recreated");

        // Editing the child by hand is reverted too.
        await fixture.Api.PatchAsync(configMaps, ns, "a-mirror", """{"data":{"image":"tampered"}}""", Operator.Runtime.Client.KubernetesApi.MergePatch, default);
        await Eventually.TrueAsync(async () =>
            (await fixture.Api.GetAsync(configMaps, ns, "a-mirror", default))!["data"]!["image"]!.GetValue<string>() == "img:1", Timeout, "edit reverted");

        // Status went through the status subresource.
        var resource = (await fixture.Api.GetAsync(fixture.Api.Types.For<DaskCluster>(), ns, "a", default))!;
        resource["status"]!["phase"]!.GetValue<string>().Should().Be("Ready");
        resource["status"]!["observedGeneration"]!.GetValue<long>().Should().Be(1);
    }

    [Fact]
    public async Task A_steady_state_makes_no_write_calls_even_across_resyncs()
    {
        var ns = await fixture.CreateNamespaceAsync("rt-steady");
        var (manager, reconciler) = MirrorReconciler.Create(fixture.Plane.AdminConfiguration(), ns, resync: TimeSpan.FromMilliseconds(500));
        await using var running = new RunningManager(manager);
        for (var i = 0; i < 5; i++)
        {
            await fixture.Api.CreateAsync(fixture.Api.Types.For<DaskCluster>(), MirrorReconciler.Resource(ns, $"r{i}", $"img:{i}"), default);
        }
        await Eventually.TrueAsync(async () =>
        {
            var page = await fixture.Api.ListAsync(fixture.Api.Types.For<DaskCluster>(), ns, null, 100, null, default);
            return page.Items.All(i => i["status"]?["phase"]?.GetValue<string>() == "Ready") && page.Items.Count == 5;
        }, Timeout, "all reconciled");
        await Task.Delay(1500); // let the watch events of our own writes arrive

        var writesBefore = manager.Api.Calls.Writes;
        var reconcilesBefore = reconciler.Reconciled.Count;
        await Task.Delay(TimeSpan.FromSeconds(3)); // six resync periods: every object is reconciled again, several times
        reconciler.Reconciled.Count.Should().BeGreaterThan(reconcilesBefore + 10, "resync re-reconciles every object");
        manager.Api.Calls.Writes.Should().Be(writesBefore, "a converged state must not write anything");
    }

    [Fact]
    public async Task The_echo_of_its_own_writes_does_not_reconcile_an_object_again()
    {
        // Each reconcile writes a child and the status; both come back as watch events. Woken by them, every object would
        // be reconciled twice for nothing; the writer skips them (other controllers still see them).
        var ns = await fixture.CreateNamespaceAsync("rt-echo");
        var (manager, reconciler) = MirrorReconciler.Create(fixture.Plane.AdminConfiguration(), ns);
        await using var running = new RunningManager(manager);
        // Synced first, so each object arrives by one watch event (not also by the initial list).
        await Eventually.TrueAsync(() => Task.FromResult(manager.Caches.All.All(i => i.HasSynced)), Timeout, "informers synced");
        const int count = 10;
        for (var i = 0; i < count; i++)
        {
            await fixture.Api.CreateAsync(fixture.Api.Types.For<DaskCluster>(), MirrorReconciler.Resource(ns, $"e{i}", $"img:{i}"), default);
        }
        await Eventually.TrueAsync(async () =>
        {
            var page = await fixture.Api.ListAsync(fixture.Api.Types.For<DaskCluster>(), ns, null, 100, null, default);
            return page.Items.Count(i => i["status"]?["phase"]?.GetValue<string>() == "Ready") == count;
        }, Timeout, "all reconciled");
        await Task.Delay(1500); // let the watch events of our own writes arrive

        // Echoes that beat the API server's answer wait for the reconcile's end and are recognised then.
        reconciler.Reconciled.Count.Should().Be(count, "each object is reconciled once, not again for its own writes");

        // A change made by someone else still reconciles.
        var before = reconciler.Reconciled.Count;
        await fixture.Api.PatchAsync(fixture.Api.Types.For<DaskCluster>(), ns, "e0", """{"spec":{"image":"img:new"}}""",
            Operator.Runtime.Client.KubernetesApi.MergePatch, default);
        await Eventually.TrueAsync(async () =>
            (await fixture.Api.GetAsync(fixture.Api.Types.For<V1ConfigMap>(), ns, "e0-mirror", default))?["data"]?["image"]?.GetValue<string>() == "img:new",
            Timeout, "edit mirrored");
        reconciler.Reconciled.Count.Should().BeGreaterThan(before);
    }

    [Fact]
    public async Task A_write_by_one_controller_reaches_another_controller_that_watches_the_kind()
    {
        // The mirror controller writes ConfigMaps; a second controller of the same process reconciles ConfigMaps. Only the
        // writer skips the echo of its write: the other must see every ConfigMap the first one writes.
        var ns = await fixture.CreateNamespaceAsync("rt-peer");
        var (manager, _) = MirrorReconciler.Create(fixture.Plane.AdminConfiguration(), ns);
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var configMaps = manager.Informer<V1ConfigMap>($"{MirrorReconciler.ChildLabel}=true");
        manager.Add(new Operator.Runtime.Controllers.Controller<V1ConfigMap>("peer", configMaps, new CountingReconciler(seen), manager.Api, manager.Metrics,
            Serilog.Core.Logger.None));
        await using var running = new RunningManager(manager);
        for (var i = 0; i < 3; i++)
        {
            await fixture.Api.CreateAsync(fixture.Api.Types.For<DaskCluster>(), MirrorReconciler.Resource(ns, $"p{i}", $"img:{i}"), default);
        }
        await Eventually.TrueAsync(() => Task.FromResult(seen.Keys.Order().SequenceEqual(["p0-mirror", "p1-mirror", "p2-mirror"])), Timeout,
            "the peer controller reconciled every ConfigMap the mirror controller wrote");
    }

    private sealed class CountingReconciler(System.Collections.Concurrent.ConcurrentDictionary<string, int> seen) : Operator.Runtime.Controllers.IReconciler<V1ConfigMap>
    {
        public Task<Operator.Runtime.Controllers.ReconcileResult> ReconcileAsync(V1ConfigMap resource, CancellationToken cancellationToken)
        {
            seen.AddOrUpdate(resource.Metadata.Name, 1, (_, n) => n + 1);
            return Task.FromResult(Operator.Runtime.Controllers.ReconcileResult.Done);
        }
    }

    [Fact]
    public async Task A_failing_reconcile_is_retried_with_growing_backoff_then_succeeds()
    {
        var ns = await fixture.CreateNamespaceAsync("rt-backoff");
        var (manager, reconciler) = MirrorReconciler.Create(fixture.Plane.AdminConfiguration(), ns);
        reconciler.FailuresLeft["flaky"] = 3;
        await using var running = new RunningManager(manager);
        await fixture.Api.CreateAsync(fixture.Api.Types.For<DaskCluster>(), MirrorReconciler.Resource(ns, "flaky", "img"), default);
        await Eventually.TrueAsync(() => Task.FromResult(reconciler.Reconciled.Contains("flaky")), Timeout, "eventually reconciled");

        var attempts = reconciler.Attempts.Take(4).ToList();
        attempts.Should().HaveCount(4);
        var gaps = attempts.Zip(attempts.Skip(1), (a, b) => b - a).ToList();
        // 100 ms doubling: at least 100, 200, 400 ms (lower bounds with a margin: a busy machine only makes gaps longer,
        // so comparing one gap with the next would fail when an early retry is picked up late).
        gaps[0].Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(80));
        gaps[1].Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(160));
        gaps[2].Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(320));
        manager.Metrics.ReconcileErrors.WithLabels("mirror").Value.Should().Be(3);
    }

    [Fact]
    public async Task Finalizer_is_added_runs_on_delete_and_is_removed()
    {
        var ns = await fixture.CreateNamespaceAsync("rt-final");
        var (manager, reconciler) = MirrorReconciler.Create(fixture.Plane.AdminConfiguration(), ns, withFinalizer: true);
        await using var running = new RunningManager(manager);
        var type = fixture.Api.Types.For<DaskCluster>();
        await fixture.Api.CreateAsync(type, MirrorReconciler.Resource(ns, "f", "img"), default);
        await Eventually.TrueAsync(async () =>
            (await fixture.Api.GetAsync(type, ns, "f", default))?["metadata"]?["finalizers"]?.AsArray()
                .Any(f => f!.GetValue<string>() == reconciler.Name) == true, Timeout, "finalizer added");

        await fixture.Api.DeleteAsync(type, ns, "f", default);
        await Eventually.TrueAsync(async () => await fixture.Api.GetAsync(type, ns, "f", default) is null, Timeout, "object gone after finalizer removed");
        reconciler.Finalized.Should().Contain("f");
    }

    [Fact]
    public async Task Only_the_leader_reconciles_and_a_standby_takes_over_when_it_stops()
    {
        var ns = await fixture.CreateNamespaceAsync("rt-leader");
        LeaderElectionOptions Election(string id) => new()
        {
            Namespace = ns, LeaseName = "mirror-leader", Identity = id,
            LeaseDuration = TimeSpan.FromSeconds(4), RenewDeadline = TimeSpan.FromSeconds(3), RetryPeriod = TimeSpan.FromMilliseconds(300),
        };
        var (managerA, reconcilerA) = MirrorReconciler.Create(fixture.Plane.AdminConfiguration(), ns, leaderElection: Election("replica-a"));
        var (managerB, reconcilerB) = MirrorReconciler.Create(fixture.Plane.AdminConfiguration(), ns, leaderElection: Election("replica-b"));
        await using var a = new RunningManager(managerA);
        await Eventually.TrueAsync(() => Task.FromResult(managerA.IsLeader), Timeout, "first replica leads");
        await using var b = new RunningManager(managerB);
        await Task.Delay(1000);
        managerB.IsLeader.Should().BeFalse("the lease is held");

        var type = fixture.Api.Types.For<DaskCluster>();
        await fixture.Api.CreateAsync(type, MirrorReconciler.Resource(ns, "one", "img"), default);
        await Eventually.TrueAsync(() => Task.FromResult(reconcilerA.Reconciled.Contains("one")), Timeout, "leader reconciles");
        reconcilerB.Reconciled.Should().BeEmpty("a standby must not reconcile");

        await a.StopAsync(); // graceful: releases the lease
        var stoppedAt = DateTime.UtcNow;
        (await LeaseHolderAsync(ns, "mirror-leader")).Should().BeOneOf(["", "replica-b"], "the stopped leader released the lease");
        await Eventually.TrueAsync(() => Task.FromResult(managerB.IsLeader), Timeout, "standby takes over");
        // B retries every 300 ms; without the release it would wait out the lease's 4 s.
        (DateTime.UtcNow - stoppedAt).Should().BeLessThan(TimeSpan.FromSeconds(3.5), "a released lease is taken without waiting for expiry");

        await fixture.Api.CreateAsync(type, MirrorReconciler.Resource(ns, "two", "img"), default);
        await Eventually.TrueAsync(() => Task.FromResult(reconcilerB.Reconciled.Contains("two")), Timeout, "new leader reconciles");
        reconcilerA.Reconciled.Should().NotContain("two");
    }

    [Fact]
    public async Task A_stop_that_cancels_a_renewal_in_flight_still_releases_the_lease()
    {
        var ns = await fixture.CreateNamespaceAsync("rt-release");
        using var api = new KubernetesApi(fixture.Plane.AdminConfiguration(), ApiJson.Options);
        var elector = new LeaderElector(api, new LeaderElectionOptions
        {
            Namespace = ns, LeaseName = "release", Identity = "replica-a",
            LeaseDuration = TimeSpan.FromSeconds(60), RenewDeadline = TimeSpan.FromSeconds(40), RetryPeriod = TimeSpan.FromMilliseconds(200),
        }, new OperatorMetrics(), Serilog.Core.Logger.None);
        using var stop = new CancellationTokenSource();
        var leading = new TaskCompletionSource();
        var run = elector.RunAsync(async token =>
        {
            leading.TrySetResult();
            await Task.Delay(Timeout, token);
        }, stop.Token);
        await leading.Task.WaitAsync(Timeout);

        // Stop exactly while the next renewal's request is being sent (the lease GET), as a SIGTERM can land.
        api.Calls.CallMade += (verb, path) =>
        {
            if (verb == "GET" && path.EndsWith("/leases/release", StringComparison.Ordinal)) stop.Cancel();
        };
        await run.WaitAsync(Timeout); // ends without throwing: a stop is not an error

        elector.IsLeader.Should().BeFalse();
        (await LeaseHolderAsync(ns, "release")).Should().BeEmpty("a standby must not wait out the 60 s lease");
    }

    private async Task<string?> LeaseHolderAsync(string ns, string name) =>
        (await fixture.Api.GetAsync(fixture.Api.Types.For<V1Lease>(), ns, name, default))?["spec"]?["holderIdentity"]?.GetValue<string>();
}
