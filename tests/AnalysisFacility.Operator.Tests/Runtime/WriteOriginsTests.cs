using AnalysisFacility.Operator.Runtime.Cache;

namespace AnalysisFacility.Operator.Tests.Runtime;

public sealed class WriteOriginsTests
{
    private static readonly ObjectKey Alice = new("af", "alice");
    private static readonly ObjectKey Bob = new("af", "bob");

    [Fact]
    public async Task A_write_made_during_a_reconcile_is_attributed_to_that_controller_and_key_only()
    {
        var origins = new WriteOrigins();
        object sessions = new(), dask = new();
        var written = new object();

        async Task ReconcileAsync()
        {
            origins.Enter(sessions, Alice);
            await Task.Yield();
            // Writes side by side (Task.WhenAll) carry the mark too.
            await Task.WhenAll(Task.Run(() => origins.Record(written)));
        }
        await ReconcileAsync();

        origins.WrittenBy(written, sessions, Alice).Should().BeTrue();
        origins.WrittenBy(written, sessions, Bob).Should().BeFalse("another key of the same controller did not write it");
        origins.WrittenBy(written, dask, Alice).Should().BeFalse("another controller did not write it: it must still hear of it");
        origins.WrittenBy(new object(), sessions, Alice).Should().BeFalse("a version the cache decoded from the watch was written by someone else");
    }

    [Fact]
    public async Task The_mark_ends_with_the_reconcile_that_set_it()
    {
        var origins = new WriteOrigins();
        var controller = new object();

        async Task ReconcileAsync()
        {
            origins.Enter(controller, Alice);
            await Task.Yield();
        }
        await ReconcileAsync();

        var afterwards = new object();
        origins.Record(afterwards);
        origins.WrittenBy(afterwards, controller, Alice).Should().BeFalse("a write outside any reconcile has no origin");
    }
}
