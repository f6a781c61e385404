using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Facility;
using AnalysisFacility.Operator.Builders.Sessions;
using AnalysisFacility.Operator.Controllers.Sessions;
using static AnalysisFacility.Operator.Tests.Sessions.SessionFixtures;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Tests.Sessions;

/// <summary>Sessions whose parts are each valid but contradict each other or the facility.</summary>
public class SessionContradictionTests
{
    private static IReadOnlyList<string> Errors(UserSession session, FacilityResource facility, string? storeName = "salbin") =>
        new SessionBuilder(new TokenDeliveryDouble()).Build(session, facility, Context(storeName)).Errors;

    [Fact]
    public void Dask_minimum_above_maximum_is_refused()
    {
        var session = Session();
        session.Spec.Dask = new SessionDask { Minimum = 8, Maximum = 2 };
        Errors(session, SampleFacility()).Should().ContainSingle().Which.Should().Contain("spec.dask.minimum (8)").And.Contain("spec.dask.maximum (2)");
    }

    [Fact]
    public void A_GPU_profile_on_a_facility_without_GPUs_is_refused()
    {
        var facility = SampleFacility();
        facility.Spec.Sessions.MaxGpus = 0;
        Errors(Session(profile: "gpu"), facility).Should().ContainSingle().Which.Should().Contain("profile 'gpu'").And.Contain("has no GPUs");

        var overridden = Session();
        overridden.Spec.Gpus = 2;
        facility.Spec.Sessions.MaxGpus = 1;
        Errors(overridden, facility).Should().ContainSingle().Which.Should().Contain("spec.gpus asks for 2").And.Contain("at most 1");
        Errors(Session(profile: "gpu"), facility).Should().BeEmpty("one GPU is within the facility's limit");
    }

    [Fact]
    public void The_facility_refuses_a_profile_with_more_GPUs_than_it_allows()
    {
        var facility = SampleFacility();
        facility.Spec.Hub.Authentication.Type = "dummy";
        HubBuilder.Validate(facility.Spec).Should().BeEmpty();
        facility.Spec.Sessions.MaxGpus = 0;
        HubBuilder.Validate(facility.Spec).Should().ContainSingle().Which.Should().Contain("'gpu'").And.Contain("maxGpus is 0");
    }

    [Fact]
    public void A_store_name_override_never_hands_another_mapped_users_directory_to_someone_else()
    {
        var facility = SampleFacility();
        var alice = Session("alice@unl.edu");
        alice.Spec.StoreName = "salbin";
        Errors(alice, facility, "salbin").Should().ContainSingle().Which.Should()
            .Contain("store directory of user 'sam.albin@unl.edu'").And.Contain("sharedWith");

        facility.Spec.UserStore.Users[0].SharedWith = ["ALICE@unl.edu"];
        Errors(alice, facility, "salbin").Should().BeEmpty("the facility shares the directory with alice explicitly");

        var sam = Session();
        sam.Spec.StoreName = "salbin";
        Errors(sam, SampleFacility(), "salbin").Should().BeEmpty("a user may name their own directory");
        var shared = Session("alice@unl.edu");
        shared.Spec.StoreName = "shared-higgs";
        Errors(shared, SampleFacility(), "shared-higgs").Should().BeEmpty("a directory no one is mapped to is the admin's to hand out");
    }

    [Fact]
    public void A_store_name_override_of_the_nobody_directory_or_without_a_store_is_refused()
    {
        var session = Session();
        session.Spec.StoreName = "nobody";
        Errors(session, SampleFacility(), "nobody").Should().ContainSingle().Which.Should().Contain("read-only fallback");

        var facility = SampleFacility();
        facility.Spec.UserStore.Enabled = false;
        session.Spec.StoreName = "salbin";
        Errors(session, facility, null).Should().ContainSingle().Which.Should().Contain("has no user store");
    }

    [Fact]
    public void Mapping_by_email_never_gives_a_user_another_users_mapped_directory_or_the_nobody_directory()
    {
        var facility = SampleFacility();
        facility.Spec.UserStore.MapByEmailLocalPart = true;
        SessionStore.ResolveStoreName(Session("salbin@cern.ch"), facility).Should().BeNull("'salbin' is sam.albin@unl.edu's directory");
        SessionStore.ResolveStoreName(Session("nobody@cern.ch"), facility).Should().BeNull();
        SessionStore.ResolveStoreName(Session("oksana@cern.ch"), facility).Should().Be("oksana");
    }

    [Fact]
    public void A_dask_maximum_above_the_facility_cap_is_capped_and_the_status_says_so()
    {
        var facility = SampleFacility();
        facility.Metadata.Uid = "facility-uid";
        facility.Spec.Hub.Authentication.Type = "dummy";
        facility.Spec.Dask.MaxWorkersPerCluster = 5;
        var session = Session();
        session.Metadata.Uid = "session-uid";
        session.Spec.Dask = new SessionDask { Minimum = 7, Maximum = 100 };

        var plan = SessionPlanning.Plan(session, facility, null);
        plan.Build.Errors.Should().BeEmpty();
        plan.Dask!.Spec.Adaptive!.Maximum.Should().Be(5);
        plan.Dask.Spec.Adaptive.Minimum.Should().Be(5);
        var status = SessionConditions.Derive(new SessionObservation { DaskLimits = plan.DaskLimits }, null, DateTime.UtcNow);
        var condition = status.Conditions.Single(c => c.Type == SessionConditions.DaskLimits);
        condition.Status.Should().Be("False");
        condition.Reason.Should().Be("CappedByFacility");
        condition.Message.Should().Contain("spec.dask.maximum (100)").And.Contain("maxWorkersPerCluster (5)");

        session.Spec.Dask = new SessionDask { Minimum = 1, Maximum = 3 };
        plan = SessionPlanning.Plan(session, facility, null);
        SessionConditions.Derive(new SessionObservation { DaskLimits = plan.DaskLimits }, null, DateTime.UtcNow)
            .Conditions.Single(c => c.Type == SessionConditions.DaskLimits).Status.Should().Be("True");
    }
}
