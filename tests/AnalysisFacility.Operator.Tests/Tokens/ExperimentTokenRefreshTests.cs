using AnalysisFacility.Operator.Tokens.Refresh;

namespace AnalysisFacility.Operator.Tests.Tokens;

public class ExperimentTokenRefreshTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    private static ExperimentTokenState State(TimeSpan? lifetime = null, string? login = "fp-1", string? from = "fp-1", string? revoked = null,
        DateTimeOffset? failedAt = null) =>
        new(login, lifetime is null ? null : T0, lifetime is null ? null : T0 + lifetime, from, revoked, failedAt);

    [Fact]
    public void An_hour_long_IAM_token_is_replaced_with_thirteen_minutes_left_and_not_before()
    {
        var state = State(TimeSpan.FromHours(1));
        ExperimentTokenRefresh.Decide(state, T0 + TimeSpan.FromMinutes(46)).Should().Be(new RefreshDecision(RefreshAction.Wait, T0 + TimeSpan.FromMinutes(47), ExperimentTokenRefresh.Fresh));
        ExperimentTokenRefresh.Decide(state, T0 + TimeSpan.FromMinutes(47)).Action.Should().Be(RefreshAction.Refresh);
    }

    [Fact]
    public void A_short_lived_IAM_token_is_replaced_at_half_its_life_never_in_a_loop()
    {
        var state = State(TimeSpan.FromSeconds(60));
        ExperimentTokenRefresh.Decide(state, T0 + TimeSpan.FromSeconds(10)).Should().Be(new RefreshDecision(RefreshAction.Wait, T0 + TimeSpan.FromSeconds(30), ExperimentTokenRefresh.Fresh));
        ExperimentTokenRefresh.Decide(state, T0 + TimeSpan.FromSeconds(30)).Should().Be(new RefreshDecision(RefreshAction.Refresh, T0 + TimeSpan.FromSeconds(30), ExperimentTokenRefresh.DueForRefresh));
    }

    [Fact]
    public void No_token_yet_or_a_new_login_refreshes_at_once()
    {
        ExperimentTokenRefresh.Decide(State(), T0).Reason.Should().Be(ExperimentTokenRefresh.NoAccessToken);
        ExperimentTokenRefresh.Decide(State(TimeSpan.FromHours(1), login: "fp-2"), T0).Reason.Should().Be(ExperimentTokenRefresh.NewLogin);
    }

    [Fact]
    public void A_refused_refresh_token_is_never_sent_again_but_a_new_login_is_tried()
    {
        ExperimentTokenRefresh.Decide(State(TimeSpan.FromHours(1), revoked: "fp-1"), T0 + TimeSpan.FromHours(2))
            .Should().Be(new RefreshDecision(RefreshAction.Stop, null, ExperimentTokenRefresh.Revoked));
        ExperimentTokenRefresh.Decide(State(TimeSpan.FromHours(1), login: "fp-2", revoked: "fp-1"), T0).Action.Should().Be(RefreshAction.Refresh);
        ExperimentTokenRefresh.Decide(State(login: null), T0).Should().Be(new RefreshDecision(RefreshAction.Stop, null, ExperimentTokenRefresh.NoRefreshToken));
    }

    [Fact]
    public void A_passing_failure_waits_before_the_next_attempt()
    {
        var state = State(failedAt: T0);
        ExperimentTokenRefresh.Decide(state, T0 + TimeSpan.FromSeconds(5)).Should().Be(new RefreshDecision(RefreshAction.Wait, T0 + ExperimentTokenRefresh.RetryAfter, ExperimentTokenRefresh.RetryAfterFailure));
        ExperimentTokenRefresh.Decide(state, T0 + ExperimentTokenRefresh.RetryAfter).Action.Should().Be(RefreshAction.Refresh);
    }
}
