using AnalysisFacility.Operator.Tokens.Issuance;

namespace AnalysisFacility.Operator.Tests.Tokens;

public sealed class TokenLifetimesTests
{
    private static readonly DateTimeOffset Issued = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(60, 30)]   // 1 h: at half time, 30 min left
    [InlineData(360, 180)] // 6 h: at half time
    [InlineData(15, 2)]    // 15 min: half would leave 7.5 min; refreshed so the file keeps >= 10 min after delivery
    [InlineData(20, 7)]
    [InlineData(26, 13)]   // the two rules meet
    public void Refresh_time_follows_half_life_but_keeps_ten_minutes(int lifetimeMinutes, int expectedMinutes)
    {
        var expires = Issued.AddMinutes(lifetimeMinutes);
        TokenLifetimes.NextRefreshAt(Issued, expires).Should().Be(Issued.AddMinutes(expectedMinutes));
    }

    [Theory]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(30)]
    [InlineData(60)]
    [InlineData(361)]
    public void The_file_never_has_less_than_ten_minutes_left(int lifetimeMinutes)
    {
        var lifetime = TimeSpan.FromMinutes(lifetimeMinutes);
        var refreshAt = TokenLifetimes.NextRefreshAt(Issued, Issued + lifetime);
        var oldTokenLeftWhenReplaced = Issued + lifetime - (refreshAt + TokenLifetimes.DeliveryDelay);
        oldTokenLeftWhenReplaced.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMinutes(10));
        (refreshAt - Issued).Should().BeLessThanOrEqualTo(lifetime / 2, "refresh once less than half remains at the latest");
    }

    [Fact]
    public void Needs_refresh_when_missing_or_due()
    {
        TokenLifetimes.NeedsRefresh(Issued, null, null).Should().BeTrue();
        TokenLifetimes.NeedsRefresh(Issued.AddMinutes(29), Issued, Issued.AddHours(1)).Should().BeFalse();
        TokenLifetimes.NeedsRefresh(Issued.AddMinutes(30), Issued, Issued.AddHours(1)).Should().BeTrue();
    }

    [Theory]
    [InlineData("1h", 3600)]
    [InlineData("90m", 5400)]
    [InlineData("1h30m15s", 5415)]
    public void Durations_parse(string text, int seconds)
    {
        DurationText.TryParse(text, out var value).Should().BeTrue();
        value.Should().Be(TimeSpan.FromSeconds(seconds));
        DurationText.TryParse(DurationText.Format(value), out var again).Should().BeTrue();
        again.Should().Be(value);
    }
}
