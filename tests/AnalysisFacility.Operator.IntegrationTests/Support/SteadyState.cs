namespace AnalysisFacility.Operator.IntegrationTests.Support;

/// <summary>The check every controller test ends its convergence with: a steady state makes no write calls.</summary>
internal static class SteadyState
{
    /// <summary>Waits until the operator's write counter stays put, then checks it stays put for <paramref name="quiet"/>.</summary>
    public static async Task AssertNoWritesAsync(Func<long> writes, TimeSpan quiet, string what, Func<string>? detail = null)
    {
        // Let in-flight work settle first: kube-controller-manager's status updates (Deployment, then ReplicaSet) and the
        // operator's status write that follows them can be over a second apart on a loaded machine.
        await OperatorHarness.WaitForQuietAsync(writes, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(60), () => $"({what}) {detail?.Invoke()}");
        var before = writes();
        await Task.Delay(quiet);
        writes().Should().Be(before, $"a steady state makes no write calls ({what}) {detail?.Invoke()}");
    }
}
