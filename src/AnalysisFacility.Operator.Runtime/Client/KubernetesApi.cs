using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;

namespace AnalysisFacility.Operator.Runtime.Client;

/// <summary>
/// Generic REST access to any resource type, built on KubernetesClient's authenticated HttpClient.
/// One instance is shared by the whole process (creating clients repeatedly leaks handlers).
/// Typed calls remain available through <see cref="Typed"/>.
/// </summary>
public sealed class KubernetesApi : IDisposable
{
    public const string ApplyPatch = "application/apply-patch+yaml";
    public const string MergePatch = "application/merge-patch+json";
    public const string JsonPatch = "application/json-patch+json";

    private readonly Kubernetes _kubernetes;
    private readonly ApiCallCounter _counter;
    private readonly KubernetesClientConfiguration _configuration;

    /// <param name="json">How typed objects are written and read (<see cref="ClientJson.Compose"/>): the program's custom
    /// resource types beside the built-in models.</param>
    public KubernetesApi(KubernetesClientConfiguration configuration, JsonSerializerOptions json, ApiCallCounter? counter = null)
    {
        Json = json;
        _counter = counter ?? new ApiCallCounter();
        _configuration = configuration;
        // The default 100 s client timeout would cut long watches; every call here carries its own deadline instead.
        configuration.HttpClientTimeout = Timeout.InfiniteTimeSpan;
        _kubernetes = new Kubernetes(configuration, new CountingHandler(_counter));
        Types = new ResourceTypeRegistry();
    }

    public IKubernetes Typed => _kubernetes;
    public ResourceTypeRegistry Types { get; }
    public ApiCallCounter Calls => _counter;

    /// <summary>The JSON settings of every typed object this client and the caches and appliers on it write and read.</summary>
    public JsonSerializerOptions Json { get; }

    /// <summary>The JSON tree of a typed object, as it is sent to the API server.</summary>
    public JsonObject ToNode(object obj) => ClientJson.ToNode(obj, Json);

    /// <summary>A JSON object of the API server, typed.</summary>
    public T Decode<T>(JsonNode json) => ClientJson.Decode<T>(json, Json);

    /// <summary>Default deadline of a non-watch call.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public async Task<JsonObject?> GetAsync(ResourceType type, string? @namespace, string name, CancellationToken cancellationToken, string? subresource = null)
    {
        var path = type.ObjectPath(@namespace, name) + (subresource is null ? "" : "/" + subresource);
        using var response = await SendAsync(HttpMethod.Get, path, (string?)null, null, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        return await ReadObjectAsync(response, cancellationToken);
    }

    /// <summary>The object of kind <typeparamref name="T"/> by GET (not from a cache), typed; null when it does not exist.</summary>
    public async Task<T?> GetAsync<T>(string? @namespace, string name, CancellationToken cancellationToken) where T : class, IKubernetesObject<k8s.Models.V1ObjectMeta>
    {
        var live = await GetAsync(Types.For<T>(), @namespace, name, cancellationToken);
        return live is null ? null : KubernetesJson.Deserialize<T>(live.ToJsonString());
    }

    public async Task<ListPage> ListAsync(ResourceType type, string? @namespace, string? labelSelector, int limit,
        string? continueToken, CancellationToken cancellationToken)
    {
        var query = new List<string> { $"limit={limit}" };
        if (!string.IsNullOrEmpty(labelSelector)) query.Add("labelSelector=" + Uri.EscapeDataString(labelSelector));
        if (!string.IsNullOrEmpty(continueToken)) query.Add("continue=" + Uri.EscapeDataString(continueToken));
        using var response = await SendAsync(HttpMethod.Get, type.CollectionPath(@namespace) + "?" + string.Join('&', query), (string?)null, null, cancellationToken);
        var list = await ReadObjectAsync(response, cancellationToken);
        var items = list["items"]?.AsArray().Select(i => i!.AsObject()).ToList() ?? [];
        // Items of a list carry no apiVersion/kind; put them back so they look like single GETs.
        foreach (var item in items)
        {
            item["apiVersion"] ??= type.ApiVersion;
            item["kind"] ??= type.Kind;
        }
        var metadata = list["metadata"]?.AsObject();
        return new ListPage(items, metadata?["resourceVersion"]?.GetValue<string>() ?? "",
            metadata?["continue"]?.GetValue<string>() is { Length: > 0 } next ? next : null);
    }

    /// <summary>
    /// Streams watch events from <paramref name="resourceVersion"/>. The server ends the watch after
    /// <paramref name="timeoutSeconds"/>; a 410 Gone arrives as an ERROR event (or an HTTP 410) and must lead to a relist.
    /// </summary>
    public async IAsyncEnumerable<WatchEvent> WatchAsync(ResourceType type, string? @namespace, string? labelSelector,
        string resourceVersion, int timeoutSeconds, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var query = new List<string>
        {
            "watch=true", "allowWatchBookmarks=true", $"timeoutSeconds={timeoutSeconds}",
            "resourceVersion=" + Uri.EscapeDataString(resourceVersion),
        };
        if (!string.IsNullOrEmpty(labelSelector)) query.Add("labelSelector=" + Uri.EscapeDataString(labelSelector));
        using var request = Request(HttpMethod.Get, type.CollectionPath(@namespace) + "?" + string.Join('&', query));
        await AuthenticateAsync(request, cancellationToken);
        using var response = await _kubernetes.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode) throw await ToExceptionAsync(response, cancellationToken);
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        // Events are newline-delimited JSON; read them as UTF-8 bytes (no string per event, no node tree).
        var lines = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var read = await lines.ReadAsync(cancellationToken);
                var buffer = read.Buffer;
                while (TryReadLine(ref buffer, out var line))
                {
                    if (line.IsEmpty) continue;
                    using var watchEvent = ParseWatchEvent(line);
                    yield return watchEvent;
                }
                if (read.IsCompleted)
                {
                    if (!buffer.IsEmpty)
                    {
                        using var last = ParseWatchEvent(buffer);
                        yield return last;
                    }
                    yield break;
                }
                lines.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        finally
        {
            await lines.CompleteAsync();
        }
    }

    private static bool TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        if (buffer.PositionOf((byte)'\n') is not { } end)
        {
            line = default;
            return false;
        }
        line = buffer.Slice(0, end);
        buffer = buffer.Slice(buffer.GetPosition(1, end));
        return true;
    }

    private static WatchEvent ParseWatchEvent(ReadOnlySequence<byte> line)
    {
        var document = JsonDocument.Parse(line);
        string eventType;
        JsonElement obj;
        try
        {
            eventType = document.RootElement.GetProperty("type").GetString()!;
            obj = document.RootElement.GetProperty("object");
        }
        catch
        {
            document.Dispose(); // not a watch event: give the pooled document back before the error goes up
            throw;
        }
        if (eventType == "ERROR")
        {
            using (document)
            {
                var code = obj.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetInt32() : 500;
                throw new KubernetesApiException((HttpStatusCode)code, WatchEvent.StringProperty(obj, "reason") ?? "Error",
                    WatchEvent.StringProperty(obj, "message") ?? "watch error");
            }
        }
        // No copy of the object: the event owns the document of its line (pooled), disposed once the reader moves on.
        return new WatchEvent(eventType, obj, document);
    }

    /// <summary>Server-side apply of <paramref name="desired"/> as <paramref name="fieldManager"/>.</summary>
    public async Task<JsonObject> ApplyAsync(ResourceType type, JsonObject desired, string fieldManager, bool force, CancellationToken cancellationToken)
    {
        var metadata = desired["metadata"]!.AsObject();
        var live = await ApplyUtf8Async(type, metadata["namespace"]?.GetValue<string>(), metadata["name"]!.GetValue<string>(),
            ClientJson.ToUtf8(desired), fieldManager, force, cancellationToken);
        return JsonNode.Parse(live)!.AsObject();
    }

    /// <summary>Server-side apply of an object already written as UTF-8 JSON; returns the live object as UTF-8 JSON (for a
    /// cache to decode straight to its typed form, with no JSON tree in between).</summary>
    public async Task<byte[]> ApplyUtf8Async(ResourceType type, string? @namespace, string name, byte[] desired, string fieldManager, bool force,
        CancellationToken cancellationToken)
    {
        var path = type.ObjectPath(@namespace, name) + $"?fieldManager={Uri.EscapeDataString(fieldManager)}" + (force ? "&force=true" : "");
        using var response = await SendAsync(HttpMethod.Patch, path, new ByteArrayContent(desired), ApplyPatch, cancellationToken);
        return await response.Content.ReadAsByteArrayAsync(cancellationToken);
    }

    public async Task<JsonObject> PatchAsync(ResourceType type, string? @namespace, string name, string patch, string contentType,
        CancellationToken cancellationToken, string? subresource = null, string? fieldManager = null) =>
        JsonNode.Parse(await PatchUtf8Async(type, @namespace, name, patch, contentType, cancellationToken, subresource, fieldManager))!.AsObject();

    /// <summary>A patch; returns the live object as UTF-8 JSON.</summary>
    public async Task<byte[]> PatchUtf8Async(ResourceType type, string? @namespace, string name, string patch, string contentType,
        CancellationToken cancellationToken, string? subresource = null, string? fieldManager = null)
    {
        var path = type.ObjectPath(@namespace, name) + (subresource is null ? "" : "/" + subresource)
                   + (fieldManager is null ? "" : $"?fieldManager={Uri.EscapeDataString(fieldManager)}");
        using var response = await SendAsync(HttpMethod.Patch, path, patch, contentType, cancellationToken);
        return await response.Content.ReadAsByteArrayAsync(cancellationToken);
    }

    public async Task<JsonObject> CreateAsync(ResourceType type, JsonObject obj, CancellationToken cancellationToken)
    {
        var ns = obj["metadata"]?["namespace"]?.GetValue<string>();
        using var response = await SendAsync(HttpMethod.Post, type.CollectionPath(ns), obj.ToJsonString(), "application/json", cancellationToken);
        return await ReadObjectAsync(response, cancellationToken);
    }

    public async Task<JsonObject> ReplaceAsync(ResourceType type, JsonObject obj, CancellationToken cancellationToken, string? subresource = null)
    {
        var metadata = obj["metadata"]!.AsObject();
        var path = type.ObjectPath(metadata["namespace"]?.GetValue<string>(), metadata["name"]!.GetValue<string>()) + (subresource is null ? "" : "/" + subresource);
        using var response = await SendAsync(HttpMethod.Put, path, obj.ToJsonString(), "application/json", cancellationToken);
        return await ReadObjectAsync(response, cancellationToken);
    }

    /// <summary>Deletes an object; returns false when it was already gone. <paramref name="uid"/> guards against deleting a successor.</summary>
    public async Task<bool> DeleteAsync(ResourceType type, string? @namespace, string name, CancellationToken cancellationToken,
        string propagationPolicy = "Background", string? uid = null)
    {
        var options = new JsonObject { ["kind"] = "DeleteOptions", ["apiVersion"] = "v1", ["propagationPolicy"] = propagationPolicy };
        if (uid is not null) options["preconditions"] = new JsonObject { ["uid"] = uid };
        using var response = await SendAsync(HttpMethod.Delete, type.ObjectPath(@namespace, name), options.ToJsonString(), "application/json", cancellationToken, allowNotFound: true);
        return response.StatusCode != HttpStatusCode.NotFound;
    }

    /// <summary>A raw GET of any path (e.g. /readyz, /openapi/v2), for diagnostics and tests.</summary>
    public async Task<string> GetRawAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Get, path, (string?)null, null, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string pathAndQuery, string? body, string? contentType,
        CancellationToken cancellationToken, bool allowNotFound = false) =>
        SendAsync(method, pathAndQuery, body is null ? null : new StringContent(body, Encoding.UTF8), contentType, cancellationToken, allowNotFound);

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string pathAndQuery, HttpContent? body, string? contentType,
        CancellationToken cancellationToken, bool allowNotFound = false)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(RequestTimeout);
        using var request = Request(method, pathAndQuery);
        if (body is not null)
        {
            request.Content = body;
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType ?? "application/json");
        }
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        await AuthenticateAsync(request, cancellationToken);
        HttpResponseMessage response;
        try
        {
            response = await _kubernetes.HttpClient.SendAsync(request, HttpCompletionOption.ResponseContentRead, deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{method} {pathAndQuery.Split('?')[0]} did not answer within {RequestTimeout}");
        }
        if (response.IsSuccessStatusCode || (method == HttpMethod.Get && response.StatusCode == HttpStatusCode.NotFound)
            || (allowNotFound && response.StatusCode == HttpStatusCode.NotFound))
        {
            return response;
        }
        using (response)
        {
            throw await ToExceptionAsync(response, cancellationToken);
        }
    }

    // HTTP/2 where the server offers it (kube-apiserver does): every watch and request of the process shares one TLS
    // connection instead of one connection (and its buffers and TLS state) per watch and per concurrent request.
    private HttpRequestMessage Request(HttpMethod method, string pathAndQuery) =>
        new(method, new Uri(_kubernetes.BaseUri, pathAndQuery)) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionOrLower };

    // KubernetesClient adds credentials per request in its typed calls (client certificates live on the handler);
    // raw requests through its HttpClient need the header added here. Token providers refresh in-cluster tokens.
    private async Task AuthenticateAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (_configuration.TokenProvider is { } provider)
        {
            request.Headers.Authorization = await provider.GetAuthenticationHeaderAsync(cancellationToken);
        }
        else if (!string.IsNullOrEmpty(_configuration.AccessToken))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _configuration.AccessToken);
        }
        else if (!string.IsNullOrEmpty(_configuration.Username))
        {
            var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_configuration.Username}:{_configuration.Password}"));
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", basic);
        }
    }

    private static async Task<JsonObject> ReadObjectAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return JsonNode.Parse(text)!.AsObject();
    }

    private static async Task<KubernetesApiException> ToExceptionAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        string reason = response.StatusCode.ToString(), message = text;
        try
        {
            var status = JsonNode.Parse(text)?.AsObject();
            reason = status?["reason"]?.GetValue<string>() ?? reason;
            message = status?["message"]?.GetValue<string>() ?? message;
        }
        catch (JsonException)
        {
            // not a Status object: keep the raw text
        }
        return new KubernetesApiException(response.StatusCode, reason, message);
    }

    public void Dispose() => _kubernetes.Dispose();
}
