using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.Operator.Runtime.Apply;

namespace AnalysisFacility.Operator.Tests.Runtime;

/// <summary>Which existing objects the Applier may write (the rules the operator runs with).</summary>
public sealed class ObjectClaimTests
{
    private static readonly Dictionary<string, string> Desired = new()
    {
        ["app.kubernetes.io/managed-by"] = "analysisfacility-operator", ["analysisfacility.io/facility"] = "cms-b",
    };

    private static JsonObject Meta(string json) => JsonNode.Parse(json)!.AsObject();

    private static ClaimDecision Decide(string? liveMetadata, string? ownerUid = null) =>
        ObjectClaim.Decide(liveMetadata is null ? null : Meta(liveMetadata), Desired, ownerUid, OperatorSetup.Claims);

    [Fact]
    public void A_missing_object_or_our_own_is_written()
    {
        Decide(null).Allowed.Should().BeTrue();
        Decide("""{"labels":{"app.kubernetes.io/managed-by":"analysisfacility-operator","analysisfacility.io/facility":"cms-b"}}""").Allowed.Should().BeTrue();
        // Lost its labels by hand, but its owner reference says whose it is.
        Decide("""{"ownerReferences":[{"uid":"u-1","kind":"AnalysisFacility","name":"cms-b","controller":true}]}""", ownerUid: "u-1").Allowed.Should().BeTrue();
    }

    [Fact]
    public void Another_facilitys_object_is_refused_naming_that_facility()
    {
        var decision = Decide("""{"labels":{"app.kubernetes.io/managed-by":"analysisfacility-operator","analysisfacility.io/facility":"cms-a"}}""");
        decision.Allowed.Should().BeFalse();
        decision.Holder.Should().Contain("AnalysisFacility 'cms-a'");
    }

    [Fact]
    public void An_object_the_operator_never_made_is_refused()
    {
        Decide("""{"labels":{"team":"higgs"}}""").Holder.Should().Contain("was not made by this operator");
        Decide("""{"ownerReferences":[{"uid":"u-9","kind":"Deployment","name":"mine","controller":true}]}""", ownerUid: "u-1")
            .Holder.Should().Contain("owned by Deployment 'mine'");
        // Made by the operator but for no facility: not this facility's either.
        Decide("""{"labels":{"app.kubernetes.io/managed-by":"analysisfacility-operator"}}""").Allowed.Should().BeFalse();
    }

    [Fact]
    public void Retained_data_released_by_a_deleted_facility_is_adopted_only_by_a_facility_of_the_same_name()
    {
        // What the finalizer leaves on a retained volume: no managed-by label, the retain annotation and whose it was.
        const string released = """{"annotations":{"analysisfacility.io/retain":"true"},"labels":{"analysisfacility.io/facility":"%"}}""";
        Decide(released.Replace("%", "cms-b")).Allowed.Should().BeTrue();
        Decide(released.Replace("%", "cms-a")).Allowed.Should().BeFalse();
    }
}
