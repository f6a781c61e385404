using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AnalysisFacility.Operator.Controllers.Dask;

/// <summary>A worker as the scheduler knows it: its comm address and its name (the pod name for operator-made workers).</summary>
public sealed record DaskWorkerInfo(string Address, string? Name);

/// <summary>The scheduler's HTTP API did not answer as expected.</summary>
public sealed class DaskSchedulerException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Client of the Dask scheduler's HTTP API (distributed.http.scheduler.api, served on the dashboard port under /api/v1).
/// One instance serves every cluster: each call names the cluster's API base, e.g. http://x-scheduler.ns.svc.cluster.local:8787/api/v1.
/// </summary>
public sealed partial class DaskSchedulerClient(HttpClient http)
{
    /// <summary>GET adaptive_target: how many workers the scheduler wants for its current load ({"workers": n}).</summary>
    public async Task<int> GetAdaptiveTargetAsync(Uri apiBase, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Get, apiBase, "adaptive_target", null, cancellationToken);
        var body = Deserialize<AdaptiveTargetResponse>(response, "adaptive_target");
        if (body.Workers is not { } workers || workers < 0)
            throw new DaskSchedulerException($"adaptive_target at {apiBase} answered without a non-negative 'workers' number.");
        return workers;
    }

    /// <summary>GET get_workers: the workers connected now.</summary>
    public async Task<IReadOnlyList<DaskWorkerInfo>> GetWorkersAsync(Uri apiBase, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Get, apiBase, "get_workers", null, cancellationToken);
        var body = Deserialize<GetWorkersResponse>(response, "get_workers");
        return (body.Workers ?? []).Where(worker => worker.Address is not null)
            .Select(worker => new DaskWorkerInfo(worker.Address!, NameText(worker.Name))).ToList();
    }

    /// <summary>
    /// POST retire_workers {"n": count}: the scheduler picks the cheapest workers to close, moves the data only they hold
    /// to other workers and removes them. Returns the workers actually retired (fewer when data could not be moved).
    /// </summary>
    public Task<IReadOnlyList<DaskWorkerInfo>> RetireWorkersAsync(Uri apiBase, int count, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        return RetireAsync(apiBase, new JsonObjectBody { N = count }, cancellationToken);
    }

    /// <summary>POST retire_workers {"workers": [addresses]}: retires these workers.</summary>
    public Task<IReadOnlyList<DaskWorkerInfo>> RetireWorkersAsync(Uri apiBase, IReadOnlyList<string> addresses, CancellationToken cancellationToken)
    {
        if (addresses.Count == 0) return Task.FromResult<IReadOnlyList<DaskWorkerInfo>>([]);
        return RetireAsync(apiBase, new JsonObjectBody { Workers = addresses }, cancellationToken);
    }

    private async Task<IReadOnlyList<DaskWorkerInfo>> RetireAsync(Uri apiBase, JsonObjectBody request, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Post, apiBase, "retire_workers", JsonContent.Create(request, WireJson.Default.JsonObjectBody), cancellationToken);
        // The answer maps each retired worker's address to its identity (which carries its name).
        var body = Deserialize<Dictionary<string, JsonElement>>(response, "retire_workers");
        return body.Select(pair => new DaskWorkerInfo(pair.Key,
            pair.Value.ValueKind == JsonValueKind.Object && pair.Value.TryGetProperty("name", out var name) ? NameText(name) : null)).ToList();
    }

    private async Task<string> SendAsync(HttpMethod method, Uri apiBase, string endpoint, HttpContent? content, CancellationToken cancellationToken)
    {
        var uri = new Uri(apiBase.AbsoluteUri.TrimEnd('/') + "/" + endpoint);
        using var request = new HttpRequestMessage(method, uri) { Content = content };
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new DaskSchedulerException($"scheduler API {uri} is unreachable: {e.Message}", e);
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                var hint = response.StatusCode == System.Net.HttpStatusCode.NotFound
                    ? " (is distributed.http.scheduler.api in the scheduler's distributed.scheduler.http.routes?)"
                    : "";
                throw new DaskSchedulerException($"scheduler API {uri} answered {(int)response.StatusCode} {response.ReasonPhrase}{hint}.");
            }
            return text;
        }
    }

    private static T Deserialize<T>(string text, string endpoint)
    {
        try
        {
            return (T?)JsonSerializer.Deserialize(text, WireJson.Default.GetTypeInfo(typeof(T))!) ?? throw new DaskSchedulerException($"{endpoint} answered an empty body.");
        }
        catch (JsonException e)
        {
            throw new DaskSchedulerException($"{endpoint} answered something that is not the expected JSON.", e);
        }
    }

    private static string? NameText(JsonElement name) => name.ValueKind switch
    {
        JsonValueKind.String => name.GetString(),
        JsonValueKind.Number => name.GetRawText(),
        _ => null,
    };

    private sealed class AdaptiveTargetResponse
    {
        [JsonPropertyName("workers")] public int? Workers { get; set; }
    }

    private sealed class GetWorkersResponse
    {
        [JsonPropertyName("workers")] public List<WorkerEntry>? Workers { get; set; }
    }

    private sealed class WorkerEntry
    {
        [JsonPropertyName("name")] public JsonElement Name { get; set; }
        [JsonPropertyName("address")] public string? Address { get; set; }
    }

    private sealed class JsonObjectBody
    {
        [JsonPropertyName("n"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? N { get; set; }
        [JsonPropertyName("workers"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyList<string>? Workers { get; set; }
    }

    // The scheduler API's bodies, read and written without reflection (NativeAOT).
    [JsonSerializable(typeof(AdaptiveTargetResponse))]
    [JsonSerializable(typeof(GetWorkersResponse))]
    [JsonSerializable(typeof(Dictionary<string, JsonElement>))]
    [JsonSerializable(typeof(JsonObjectBody))]
    private sealed partial class WireJson : JsonSerializerContext;
}
