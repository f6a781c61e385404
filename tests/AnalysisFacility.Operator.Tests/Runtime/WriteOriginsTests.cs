using System.Text;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Client;
using k8s;
using k8s.Models;
using Serilog;

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

    private static Informer<V1ConfigMap> ConfigMaps(WriteOrigins origins)
    {
        // Never started: Upsert needs no API server.
        var api = new KubernetesApi(new KubernetesClientConfiguration { Host = "http://127.0.0.1:1" }, ApiJson.Options);
        return new Informer<V1ConfigMap>(api, api.Types.For<V1ConfigMap>(), new InformerOptions { Origins = origins }, new LoggerConfiguration().CreateLogger());
    }

    private static byte[] ConfigMapJson(string resourceVersion) => Encoding.UTF8.GetBytes(
        $$$"""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"alice","namespace":"af","resourceVersion":"{{{resourceVersion}}}"}}""");

    [Fact]
    public async Task The_answer_to_a_write_is_recorded_even_when_its_watch_event_came_first()
    {
        var origins = new WriteOrigins();
        var informer = ConfigMaps(origins);
        var controller = new object();
        var fromWatch = informer.Upsert(ConfigMapJson("7"), writtenOver: null)!; // stands in for the watch's decode (no origin)

        IKubernetesObject<V1ObjectMeta>? stored = null;
        async Task ReconcileAsync()
        {
            origins.Enter(controller, Alice);
            await Task.Yield();
            stored = informer.Upsert(ConfigMapJson("7"), writtenOver: "6");
        }
        await ReconcileAsync();

        stored.Should().BeSameAs(fromWatch, "the cache keeps the instance the watch event delivered");
        origins.WrittenBy(fromWatch, controller, Alice).Should().BeTrue("so the held event is known as the echo of this write");
    }

    [Fact]
    public async Task A_write_that_changed_nothing_is_not_taken_for_its_writer_and_older_answers_never_replace_the_cache()
    {
        var origins = new WriteOrigins();
        var informer = ConfigMaps(origins);
        var controller = new object();
        var someoneElses = informer.Upsert(ConfigMapJson("7"), writtenOver: null)!;

        IKubernetesObject<V1ObjectMeta>? noOp = null, older = null;
        async Task ReconcileAsync()
        {
            origins.Enter(controller, Alice);
            await Task.Yield();
            // The server answers a write that changes nothing with the version it was based on.
            noOp = informer.Upsert(ConfigMapJson("7"), writtenOver: "7");
            older = informer.Upsert(ConfigMapJson("5"), writtenOver: "4");
        }
        await ReconcileAsync();

        noOp.Should().BeSameAs(someoneElses);
        origins.WrittenBy(someoneElses, controller, Alice).Should().BeFalse("version 7 is someone else's: its event must still wake the controller");
        older.Should().BeNull();
        informer.Get(Alice)!.Metadata.ResourceVersion.Should().Be("7");
    }
}
