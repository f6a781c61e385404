using System.Text.Json;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Runtime.Apply;
using AnalysisFacility.Operator.Runtime.Cache;
using k8s;
using k8s.Models;

namespace AnalysisFacility.Operator.Tests.Runtime;

public sealed class CacheDecoderTests
{
    // A pod as the API server answers a server-side apply: managedFields, quantities, int-or-string, timestamps.
    private static string PodJson(string user) => """
        {"apiVersion":"v1","kind":"Pod","metadata":{"name":"USER","namespace":"af","uid":"uid-USER","resourceVersion":"42",
          "creationTimestamp":"2026-12-02T01:02:03Z",
          "labels":{"app.kubernetes.io/managed-by":"analysisfacility-operator","analysisfacility.io/user":"USER"},
          "annotations":{"analysisfacility.io/applied-hash":"0123456789abcdef"},
          "managedFields":[{"manager":"analysisfacility-operator","operation":"Apply","apiVersion":"v1","fieldsType":"FieldsV1",
            "fieldsV1":{"f:metadata":{"f:labels":{".":{}}}}}]},
         "spec":{"containers":[{"name":"notebook","image":"coffeateam/coffea-casa:2026.11",
           "env":[{"name":"DASK_GATEWAY__ADDRESS","value":"http://dask"},{"name":"LONG","value":"LONGVALUE"}],
           "ports":[{"containerPort":8888,"name":"http"}],
           "readinessProbe":{"httpGet":{"path":"/","port":"http"}},
           "resources":{"limits":{"cpu":"2","memory":"4Gi"}}}]},
         "status":{"phase":"Running","startTime":"2026-12-02T01:02:04Z"}}
        """.Replace("USER", user).Replace("LONGVALUE", new string('x', 300));

    [Fact]
    public void Decoded_objects_have_no_managed_fields_and_the_same_content_as_the_client_reads()
    {
        var decoder = new CacheDecoder(ApiJson.Options);
        var decoded = decoder.Decode<V1Pod>(JsonDocument.Parse(PodJson("alice")).RootElement);

        decoded.Metadata.ManagedFields.Should().BeNull();
        var expected = KubernetesJson.Deserialize<V1Pod>(PodJson("alice"));
        expected.Metadata.ManagedFields.Should().NotBeEmpty("the client keeps them, the cache does not");
        expected.Metadata.ManagedFields = null;
        ApiJson.Serialize(decoded).Should().Be(ApiJson.Serialize(expected));
        decoded.Spec.Containers[0].Resources.Limits["memory"].ToString().Should().Be("4Gi");
        decoded.Spec.Containers[0].ReadinessProbe.HttpGet.Port.Value.Should().Be("http");
        decoded.Metadata.CreationTimestamp.Should().Be(new DateTime(2026, 12, 2, 1, 2, 3, DateTimeKind.Utc));
    }

    [Fact]
    public void Short_strings_that_recur_across_objects_are_held_once()
    {
        var decoder = new CacheDecoder(ApiJson.Options);
        var alice = decoder.Decode<V1Pod>(JsonNode.Parse(PodJson("alice"))!);
        var bob = decoder.Decode<V1Pod>(JsonDocument.Parse(PodJson("bob")).RootElement);

        ReferenceEquals(alice.Spec.Containers[0].Image, bob.Spec.Containers[0].Image).Should().BeTrue();
        ReferenceEquals(alice.Spec.Containers[0].Env[0].Name, bob.Spec.Containers[0].Env[0].Name).Should().BeTrue();
        // Dictionary keys (labels) are shared too.
        ReferenceEquals(alice.Metadata.Labels.Keys.First(), bob.Metadata.Labels.Keys.First()).Should().BeTrue();
        // Values that differ stay different; long values are not put in the table.
        alice.Metadata.Labels["analysisfacility.io/user"].Should().Be("alice");
        bob.Metadata.Labels["analysisfacility.io/user"].Should().Be("bob");
        ReferenceEquals(alice.Spec.Containers[0].Env[1].Value, bob.Spec.Containers[0].Env[1].Value).Should().BeFalse();
        alice.Spec.Containers[0].Env[1].Value.Should().Be(new string('x', 300));
    }

    [Fact]
    public void Without_a_table_nothing_is_shared()
    {
        var decoder = new CacheDecoder(ApiJson.Options, internTableSize: 0);
        var alice = decoder.Decode<V1Pod>(JsonNode.Parse(PodJson("alice"))!);
        var bob = decoder.Decode<V1Pod>(JsonNode.Parse(PodJson("bob"))!);
        ReferenceEquals(alice.Spec.Containers[0].Image, bob.Spec.Containers[0].Image).Should().BeFalse();
        alice.Spec.Containers[0].Image.Should().Be(bob.Spec.Containers[0].Image);
    }

    [Fact]
    public void Escaped_strings_and_custom_resources_decode_as_written()
    {
        var decoder = new CacheDecoder(ApiJson.Options);
        var json = """
            {"apiVersion":"analysisfacility.io/v1alpha1","kind":"UserSession","metadata":{"name":"s","namespace":"af"},
             "spec":{"facilityRef":"af","user":{"name":"alice","email":"a\u0040b.example","groups":["/cms","/cms\/higgs"]}}}
            """;
        var session = decoder.Decode<UserSession>(JsonDocument.Parse(json).RootElement);
        session.Spec.User.Email.Should().Be("a@b.example");
        session.Spec.User.Groups.Should().Equal("/cms", "/cms/higgs");
    }

    [Fact]
    public void A_decoded_object_compares_equal_to_the_desired_object_it_was_applied_from()
    {
        // The applier compares desired objects with cached ones: decoding must not lose a field it sets.
        var decoder = new CacheDecoder(ApiJson.Options);
        var cached = decoder.Decode<V1Pod>(JsonDocument.Parse(PodJson("alice")).RootElement);
        var desired = JsonNode.Parse(PodJson("alice"))!.AsObject();
        desired["metadata"]!.AsObject().Remove("managedFields");
        desired.Remove("status");
        Applier.Matches(desired, ApiJson.ToNode(cached)).Should().BeTrue();
    }
}
