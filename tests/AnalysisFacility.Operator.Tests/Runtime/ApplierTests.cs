using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Runtime.Apply;

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
}
