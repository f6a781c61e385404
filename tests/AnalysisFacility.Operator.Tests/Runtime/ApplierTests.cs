using System.Text.Json;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Runtime.Apply;
using k8s.Models;

namespace AnalysisFacility.Operator.Tests.Runtime;

public sealed class ApplierTests
{
    [Fact]
    public void Desired_fields_present_with_equal_values_match_even_with_server_defaults_added()
    {
        var desired = JsonNode.Parse("""{"spec":{"replicas":2,"template":{"spec":{"containers":[{"name":"a","image":"x:1","ports":[{"containerPort":8080}]}]}}}}""");
        var live = JsonNode.Parse("""{"spec":{"replicas":2,"revisionHistoryLimit":10,"template":{"spec":{"dnsPolicy":"ClusterFirst","containers":[{"name":"a","image":"x:1","imagePullPolicy":"IfNotPresent","ports":[{"containerPort":8080,"protocol":"TCP"}]}]}}}}""");
        Applier.IsSubset(desired, live).Should().BeTrue();
    }

    [Fact]
    public void A_field_edited_by_hand_does_not_match()
    {
        var desired = JsonNode.Parse("""{"spec":{"replicas":2}}""");
        var live = JsonNode.Parse("""{"spec":{"replicas":5}}""");
        Applier.IsSubset(desired, live).Should().BeFalse();
    }

    [Fact]
    public void An_extra_list_element_added_by_hand_does_not_match()
    {
        var desired = JsonNode.Parse("""{"env":[{"name":"A","value":"1"}]}""");
        var live = JsonNode.Parse("""{"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]}""");
        Applier.IsSubset(desired, live).Should().BeFalse();
    }

    [Fact]
    public void Int_or_string_values_compare_by_text_and_empty_values_match_absent_ones()
    {
        Applier.IsSubset(JsonNode.Parse("""{"port":8080,"labels":{},"list":[]}"""), JsonNode.Parse("""{"port":"8080"}""")).Should().BeTrue();
    }

    [Fact]
    public void Hash_ignores_its_own_annotation_and_changes_with_content()
    {
        var a = JsonNode.Parse("""{"metadata":{"name":"x","annotations":{"analysisfacility.io/applied-hash":"old"}},"data":{"k":"v"}}""")!.AsObject();
        var b = JsonNode.Parse("""{"metadata":{"name":"x","annotations":{}},"data":{"k":"v"}}""")!.AsObject();
        var c = JsonNode.Parse("""{"metadata":{"name":"x"},"data":{"k":"w"}}""")!.AsObject();
        Applier.Hash(a).Should().Be(Applier.Hash(b));
        Applier.Hash(a).Should().NotBe(Applier.Hash(c));
    }

    [Fact]
    public void A_field_we_stopped_setting_is_detected_by_the_hash()
    {
        var previous = JsonNode.Parse("""{"metadata":{"annotations":{"analysisfacility.io/applied-hash":"h1"}},"data":{"a":"1","b":"2"}}""")!.AsObject();
        var desired = JsonNode.Parse("""{"metadata":{"annotations":{"analysisfacility.io/applied-hash":"h2"}},"data":{"a":"1"}}""")!.AsObject();
        Applier.Matches(desired, previous).Should().BeFalse("the subset matches, but the desired state changed: apply so 'b' is removed");
    }

    [Fact]
    public void The_hash_of_a_typed_object_is_the_hash_of_its_JSON_form()
    {
        // Objects applied before the applier wrote typed objects straight to UTF-8 carry hashes of their JSON tree: the two
        // must agree, or an upgrade would re-apply every object once. Values with characters the encoders treat specially.
        var pod = new V1Pod
        {
            ApiVersion = "v1", Kind = "Pod",
            Metadata = new V1ObjectMeta
            {
                Name = "jupyter-alice", NamespaceProperty = "af", Labels = new Dictionary<string, string> { ["a/b"] = "c" },
                Annotations = new Dictionary<string, string> { [Applier.HashAnnotation] = "stale", ["note"] = "<b>&'\"+ é ✓" },
                CreationTimestamp = new DateTime(2026, 12, 2, 1, 2, 3, DateTimeKind.Utc),
            },
            Spec = new V1PodSpec
            {
                SecurityContext = new V1PodSecurityContext { RunAsUser = 1000, FsGroup = 100, RunAsNonRoot = true },
                Containers =
                [
                    new V1Container
                    {
                        Name = "notebook", Image = "coffeateam/coffea-casa:2026.11",
                        Env = [new V1EnvVar { Name = "SERVICEX", Value = "url: https://servicex.example/?a=1&b=<2>\nline two" }],
                        Ports = [new V1ContainerPort { ContainerPort = 8888, Name = "http" }],
                        ReadinessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Path = "/", Port = "http" } },
                        Resources = new V1ResourceRequirements { Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("1500m"), ["memory"] = new("4Gi") } },
                    },
                ],
            },
        };
        Applier.Hash(pod, ApiJson.Options).Should().Be(Applier.Hash(ApiJson.ToNode(pod)));
        pod.Metadata.Annotations.Should().ContainKey(Applier.HashAnnotation, "hashing leaves the object as it was");

        pod.Metadata.Annotations = null;
        var before = Applier.Hash(pod, ApiJson.Options);
        before.Should().Be(Applier.Hash(ApiJson.ToNode(pod)));
        pod.Spec.Containers[0].Image = "coffeateam/coffea-casa:2026.12";
        Applier.Hash(pod, ApiJson.Options).Should().NotBe(before, "a changed field changes the hash");
    }

    [Fact]
    public void Strings_escaped_differently_by_Go_and_dotnet_are_equal()
    {
        // Go writes "<" as \u003c, .NET writes "+" as \u002B: the texts differ, the strings do not.
        var desired = JsonDocument.Parse("""{"a":"x\u002By<z>","b":"1.0"}""").RootElement;
        var live = JsonDocument.Parse("""{"a":"x+y\u003cz\u003e","b":"1"}""").RootElement;
        Applier.IsSubset(desired, live).Should().BeTrue();
        Applier.IsSubset(JsonDocument.Parse("""{"a":"x+y"}""").RootElement, live).Should().BeFalse();
    }
}
