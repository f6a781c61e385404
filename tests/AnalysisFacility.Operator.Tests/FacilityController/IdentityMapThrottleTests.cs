using AnalysisFacility.Operator.Builders.Facility;
using AnalysisFacility.Operator.Controllers.Facility;
using AnalysisFacility.Operator.Runtime.Cache;

namespace AnalysisFacility.Operator.Tests.FacilityController;

public class IdentityMapThrottleTests
{
    private static readonly ObjectKey Facility = new("cms", "cms-af");
    private static readonly DateTimeOffset T0 = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);

    private static IReadOnlyList<ScitokensIdentity> Users(params string[] users) => users.Select(u => new ScitokensIdentity("sub-" + u, u)).ToList();

    [Fact]
    public void The_first_login_after_a_quiet_time_is_published_at_once()
    {
        var throttle = new IdentityMapThrottle(TimeSpan.FromSeconds(2));
        var (first, noWait) = throttle.Select(Facility, Users("alice"), T0);
        first.Should().Equal(Users("alice"));
        noWait.Should().BeNull();
        var (identities, retry) = throttle.Select(Facility, Users("alice", "bob"), T0.AddSeconds(30));
        identities.Should().Equal(Users("alice", "bob"));
        retry.Should().BeNull();
    }

    [Fact]
    public void Changes_within_the_interval_wait_and_the_facility_is_told_when_to_look_again()
    {
        var throttle = new IdentityMapThrottle(TimeSpan.FromSeconds(2));
        throttle.Select(Facility, Users("alice"), T0);

        var (held, retry) = throttle.Select(Facility, Users("alice", "bob"), T0.AddSeconds(0.5));
        held.Should().Equal(Users("alice"), "the map was written half a second ago");
        retry.Should().Be(TimeSpan.FromSeconds(1.5));

        var (published, again) = throttle.Select(Facility, Users("alice", "bob", "carol"), T0.AddSeconds(2));
        published.Should().Equal(Users("alice", "bob", "carol"));
        again.Should().BeNull();
    }

    [Fact]
    public void An_unchanged_set_asks_for_nothing_and_facilities_are_paced_separately()
    {
        var throttle = new IdentityMapThrottle(TimeSpan.FromSeconds(2));
        throttle.Select(Facility, Users("alice"), T0);
        throttle.Select(Facility, Users("alice"), T0.AddSeconds(0.1)).RetryAfter.Should().BeNull();
        throttle.Select(new ObjectKey("atlas", "atlas-af"), Users("dave"), T0.AddSeconds(0.1)).Identities.Should().Equal(Users("dave"));

        throttle.Forget(Facility);
        throttle.Select(Facility, Users("alice", "bob"), T0.AddSeconds(0.2)).Identities.Should().Equal(Users("alice", "bob"));
    }

    [Fact]
    public void Tells_which_users_the_published_map_holds()
    {
        var throttle = new IdentityMapThrottle(TimeSpan.FromSeconds(2));
        throttle.Publishes(Facility, "alice").Should().BeFalse("nothing is published yet");
        throttle.Select(Facility, Users("alice"), T0);
        throttle.Select(Facility, Users("alice", "bob"), T0.AddSeconds(1));
        throttle.Publishes(Facility, "alice").Should().BeTrue();
        throttle.Publishes(Facility, "bob").Should().BeFalse("bob is held back until the interval is over");
    }
}
