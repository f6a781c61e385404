using System.Collections.Concurrent;

namespace AnalysisFacility.Operator.Runtime.Client;

/// <summary>
/// Counts API calls by verb. Writes (POST, PUT, PATCH, DELETE) are what a steady state must not make;
/// tests and the benchmark read these counts, and /metrics exports them.
/// </summary>
public sealed class ApiCallCounter
{
    private readonly ConcurrentDictionary<string, long> _byVerb = new();
    private long _writes;

    public long Writes => Interlocked.Read(ref _writes);
    public IReadOnlyDictionary<string, long> ByVerb => _byVerb;

    /// <summary>Raised for every call, with the method and the path (no query, no body: never a secret).</summary>
    public event Action<string, string>? CallMade;

    public void Record(HttpMethod method, string path)
    {
        _byVerb.AddOrUpdate(method.Method, 1, (_, n) => n + 1);
        if (method != HttpMethod.Get && method != HttpMethod.Head) Interlocked.Increment(ref _writes);
        CallMade?.Invoke(method.Method, path);
    }
}

/// <summary>Feeds every request through <see cref="ApiCallCounter"/>.</summary>
internal sealed class CountingHandler(ApiCallCounter counter) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        counter.Record(request.Method, request.RequestUri?.AbsolutePath ?? "");
        return base.SendAsync(request, cancellationToken);
    }
}
