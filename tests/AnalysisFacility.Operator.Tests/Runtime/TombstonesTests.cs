using AnalysisFacility.Operator.Runtime.Cache;

namespace AnalysisFacility.Operator.Tests.Runtime;

public sealed class TombstonesTests
{
    private static readonly ObjectKey Alice = new("af", "alice");
    private static readonly DateTime Start = new(2026, 12, 2, 4, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void An_answer_from_before_a_deletion_is_recognised_and_a_recreation_is_not()
    {
        var tombstones = new Tombstones(TimeSpan.FromMinutes(2));
        tombstones.Bury(Alice, "120", Start);

        tombstones.Predates(Alice, "118").Should().BeTrue("the write was answered before the deletion the watch reported");
        tombstones.Predates(Alice, "120").Should().BeTrue();
        tombstones.Predates(Alice, "121").Should().BeFalse("a version after the deletion is the object created again");
        tombstones.Predates(new ObjectKey("af", "bob"), "1").Should().BeFalse();

        tombstones.Forget(Alice);
        tombstones.Predates(Alice, "118").Should().BeFalse();
    }

    [Fact]
    public void Old_deletions_are_dropped_so_memory_does_not_grow_with_every_object_ever_deleted()
    {
        var tombstones = new Tombstones(TimeSpan.FromMinutes(2));
        for (var i = 0; i < 1000; i++) tombstones.Bury(new ObjectKey("af", $"user{i}"), $"{i + 1}", Start);
        tombstones.Count.Should().Be(1000);

        tombstones.Bury(Alice, "5000", Start + TimeSpan.FromMinutes(3));
        tombstones.Count.Should().Be(1, "only the recent deletion is kept");
        tombstones.Predates(Alice, "4999").Should().BeTrue();
    }
}
