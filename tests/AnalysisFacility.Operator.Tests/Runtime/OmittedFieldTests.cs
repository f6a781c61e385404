using System.Text;
using System.Text.Json;
using AnalysisFacility.Operator.Runtime.Apply;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Runtime.Metrics;
using k8s;
using k8s.Models;
using Serilog;

namespace AnalysisFacility.Operator.Tests.Runtime;

/// <summary>An informer that leaves a field out of the objects it selects keeps a digest instead, and the applier uses it.</summary>
public sealed class OmittedFieldTests
{
    private const string Token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";
    private static readonly OmittedField DataOfTokens = new("data", m => m.Labels?.TryGetValue("kind", out var kind) == true && kind == "token");

    private static (KubernetesApi Api, Informer<V1Secret> Secrets) Secrets()
    {
        // Never started: Upsert needs no API server, and an apply that reaches it fails (nothing listens on port 1).
        var api = new KubernetesApi(new KubernetesClientConfiguration { Host = "http://127.0.0.1:1" }, ApiJson.Options);
        return (api, new Informer<V1Secret>(api, api.Types.For<V1Secret>(), new InformerOptions { Omit = DataOfTokens }, new LoggerConfiguration().CreateLogger()));
    }

    private static V1Secret Secret(string name, string kind, string value) => new()
    {
        ApiVersion = "v1", Kind = "Secret", Type = "Opaque",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "af", Labels = new Dictionary<string, string> { ["kind"] = kind } },
        Data = new Dictionary<string, byte[]> { ["token"] = Encoding.ASCII.GetBytes(value), ["a+b"] = [1, 2, 3] },
    };

    /// <summary>The object as the API server returns it: resourceVersion set, map keys sorted (Go), our applied hash.</summary>
    private static byte[] Live(V1Secret desired, string resourceVersion)
    {
        var json = ApiJson.ToNode(desired);
        json["metadata"]!["resourceVersion"] = resourceVersion;
        json["metadata"]!["annotations"] = new System.Text.Json.Nodes.JsonObject { [Applier.HashAnnotation] = Applier.Hash(desired, ApiJson.Options) };
        var data = json["data"]!.AsObject();
        json["data"] = new System.Text.Json.Nodes.JsonObject(data.OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone())).ToList());
        return Encoding.UTF8.GetBytes(json.ToJsonString());
    }

    [Fact]
    public void A_selected_object_is_cached_without_the_field_and_with_its_digest_others_keep_it()
    {
        var (_, secrets) = Secrets();
        var token = Secret("alice-token", "token", Token);
        var ca = Secret("ca", "ca", "PEM");

        var cachedToken = (V1Secret)((IInformer)secrets).Upsert(Live(token, "5"), writtenOver: null)!;
        var cachedCa = (V1Secret)((IInformer)secrets).Upsert(Live(ca, "6"), writtenOver: null)!;

        cachedToken.Data.Should().BeNull();
        string.Join("\n", secrets.List().Select(ApiJson.Serialize)).Should().NotContain(Convert.ToBase64String(Encoding.ASCII.GetBytes(Token)));
        secrets.OmittedDigest(cachedToken).Should().Be(FieldDigest.OfField(token, "data", ApiJson.Options), "the digest does not depend on key order");
        cachedCa.Data.Should().ContainKey("token");
        secrets.OmittedDigest(cachedCa).Should().BeNull();
    }

    [Fact]
    public async Task The_applier_skips_an_unchanged_object_by_digest_and_writes_when_the_omitted_value_differs()
    {
        var (api, secrets) = Secrets();
        var caches = new CacheRegistry();
        caches.Add(secrets);
        var applier = new Applier(api, caches, new OperatorMetrics(), new LoggerConfiguration().CreateLogger());
        var applied = Secret("alice-token", "token", Token);
        ((IInformer)secrets).Upsert(Live(applied, "5"), writtenOver: null);

        (await applier.ApplyAsync(Secret("alice-token", "token", Token), null, CancellationToken.None)).Should().Be(ApplyOutcome.Unchanged);

        // Same annotations and hash, other data (edited by hand): the cache has no data to compare, the digest tells.
        var edited = Live(applied, "6");
        var json = System.Text.Json.Nodes.JsonNode.Parse(edited)!;
        json["data"]!["token"] = Convert.ToBase64String(Encoding.ASCII.GetBytes("forged"));
        ((IInformer)secrets).Upsert(Encoding.UTF8.GetBytes(json.ToJsonString()), writtenOver: null);
        var apply = () => applier.ApplyAsync(Secret("alice-token", "token", Token), null, CancellationToken.None);
        await apply.Should().ThrowAsync<HttpRequestException>("the applier wrote (and nothing listens)");
    }

    [Fact]
    public void The_digest_ignores_member_order_and_escaping_but_not_values()
    {
        var a = JsonDocument.Parse("""{"b":"x+y","a":{"d":1,"c":[1,2]}}""").RootElement;
        var b = JsonDocument.Parse("""{"a":{"c":[1,2],"d":1},"b":"x\u002By"}""").RootElement;
        var c = JsonDocument.Parse("""{"a":{"c":[2,1],"d":1},"b":"x+y"}""").RootElement;
        FieldDigest.Of(a).Should().Be(FieldDigest.Of(b));
        FieldDigest.Of(a).Should().NotBe(FieldDigest.Of(c));
    }
}
