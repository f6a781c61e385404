using System.Diagnostics;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Tokens.Issuance;
using AnalysisFacility.Operator.Tokens.Keys;

namespace AnalysisFacility.Operator.Tokens.Benchmarks;

/// <summary>Figures of one benchmark run.</summary>
/// <param name="TokensPerSecond">Tokens minted per second by one thread.</param>
/// <param name="Users">Users whose tokens were refreshed.</param>
/// <param name="RefreshDuration">Time to decide and mint a new token for all of them.</param>
public sealed record TokenBenchmarkResult(string Algorithm, double TokensPerSecond, int Users, TimeSpan RefreshDuration, int TokenLength);

/// <summary>Measures minting throughput and the cost of refreshing every user's token (not a test: run from the CLI).</summary>
public static class TokenBenchmark
{
    public static async Task<TokenBenchmarkResult> RunAsync(string algorithm = "ES256", int users = 10_000,
        TimeSpan? mintingDuration = null, CancellationToken cancellationToken = default)
    {
        var spec = new TokenIssuerSpec
        {
            Issuer = "https://af.example.org/issuer/bench",
            Algorithm = algorithm,
            Audiences = ["https://xcache.example.org", "schedd.af.svc:9618"],
            ScopePolicy = new ScopePolicySpec { Groups = [new GroupScopes { Group = "/cms/higgs", Scopes = ["storage.read:/store/group/higgs"] }] },
        };
        var settings = IssuerSettings.FromSpec(spec, Guid.NewGuid().ToString()).ValueOrThrow();
        var now = DateTimeOffset.UtcNow;
        var ring = KeyRing.Empty.Rotate(now, settings.Rotation).Ring;
        var request = new TokenRequest("alice@example.org", "alice", ["/cms", "/cms/higgs"]);

        // Warm up (JIT, OpenSSL initialisation) before timing.
        var length = 0;
        for (var i = 0; i < 200; i++) length = TokenMinter.Mint(settings, ring, request, now).ValueOrThrow().Value.Length;

        var duration = mintingDuration ?? TimeSpan.FromSeconds(3);
        var minted = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (var i = 0; i < 100; i++) TokenMinter.Mint(settings, ring, request, now);
            minted += 100;
            await Task.Yield();
        }
        var perSecond = minted / clock.Elapsed.TotalSeconds;

        // Every user's token is due: check the refresh rule and mint, as the controller does on a full resync.
        var issued = Enumerable.Range(0, users).Select(i => (User: $"user{i}", IssuedAt: now.AddHours(-1), ExpiresAt: now.AddMinutes(5))).ToList();
        clock.Restart();
        foreach (var (user, issuedAt, expiresAt) in issued)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (TokenLifetimes.NeedsRefresh(now, issuedAt, expiresAt))
            {
                TokenMinter.Mint(settings, ring, request with { UserName = user, StoreName = user }, now).ValueOrThrow();
            }
        }
        return new TokenBenchmarkResult(algorithm, perSecond, users, clock.Elapsed, length);
    }
}
