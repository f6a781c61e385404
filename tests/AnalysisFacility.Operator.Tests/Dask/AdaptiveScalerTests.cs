using AnalysisFacility.Operator.Controllers.Dask;

namespace AnalysisFacility.Operator.Tests.Dask;

public sealed class AdaptiveScalerTests
{
    [Theory]
    // target, min, max, current -> desired, retire
    [InlineData(5, 0, 10, 2, 5, 0)]    // scale up to what the scheduler wants
    [InlineData(40, 0, 10, 2, 10, 0)]  // capped at maximum
    [InlineData(0, 2, 10, 0, 2, 0)]    // raised to minimum
    [InlineData(1, 0, 10, 4, 1, 3)]    // scale down by retiring the surplus
    [InlineData(0, 1, 10, 4, 1, 3)]    // never below minimum
    [InlineData(3, 0, 10, 3, 3, 0)]    // steady
    [InlineData(-1, 0, 10, 2, 0, 2)]   // a nonsense negative target counts as zero
    [InlineData(7, 0, 0, 0, 0, 0)]     // maximum 0 keeps the cluster empty
    public void Target_is_bounded_and_surplus_retired(int target, int minimum, int maximum, int current, int desired, int retire)
    {
        var decision = AdaptiveScaler.Decide(target, minimum, maximum, current);
        decision.DesiredWorkers.Should().Be(desired);
        decision.WorkersToRetire.Should().Be(retire);
        decision.Reason.Should().Contain(target < 0 ? "0" : target.ToString());
    }

    [Fact]
    public void Scale_down_waits_for_the_target_to_stay_low()
    {
        var first = AdaptiveScaler.Decide(1, 0, 10, 4, previousLowSteps: 0, scaleDownAfter: 3);
        first.Should().Be(first with { DesiredWorkers = 4, WorkersToRetire = 0, LowSteps = 1 });
        var second = AdaptiveScaler.Decide(1, 0, 10, 4, first.LowSteps, scaleDownAfter: 3);
        second.LowSteps.Should().Be(2);
        second.WorkersToRetire.Should().Be(0);
        var third = AdaptiveScaler.Decide(1, 0, 10, 4, second.LowSteps, scaleDownAfter: 3);
        third.WorkersToRetire.Should().Be(3);
        third.DesiredWorkers.Should().Be(1);

        AdaptiveScaler.Decide(6, 0, 10, 4, second.LowSteps, scaleDownAfter: 3).LowSteps.Should().Be(0, "a busy step resets the wait");
        AdaptiveScaler.Decide(1, 0, 2, 4, 0, scaleDownAfter: 3).WorkersToRetire.Should().Be(2, "above a lowered maximum there is no waiting");
    }

    [Fact]
    public void Bounds_out_of_order_are_refused()
    {
        var act = () => AdaptiveScaler.Decide(3, 5, 2, 0);
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*maximum must be at least minimum (5)*");
    }
}
