using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Sessions;
using static AnalysisFacility.Operator.Tests.Sessions.SessionFixtures;

namespace AnalysisFacility.Operator.Tests.Sessions;

public class SessionStoreTests
{
    [Fact]
    public void Mapping_by_user_name_or_email_wins()
    {
        SessionStore.ResolveStoreName(Session("sam.albin@unl.edu"), SampleFacility()).Should().Be("salbin");

        var byEmail = Session("sam");
        byEmail.Spec.User.Email = "Sam.Albin@unl.edu";
        SessionStore.ResolveStoreName(byEmail, SampleFacility()).Should().Be("salbin");
    }

    [Fact]
    public void Explicit_store_name_overrides_the_mapping()
    {
        var session = Session("sam.albin@unl.edu");
        session.Spec.StoreName = "shared-higgs";
        SessionStore.ResolveStoreName(session, SampleFacility()).Should().Be("shared-higgs");
    }

    [Fact]
    public void Unmapped_user_has_no_store_unless_mapping_by_email_local_part()
    {
        var facility = SampleFacility();
        SessionStore.ResolveStoreName(Session("oksana.shadura@cern.ch"), facility).Should().BeNull();

        facility.Spec.UserStore.MapByEmailLocalPart = true;
        SessionStore.ResolveStoreName(Session("oksana.shadura@cern.ch"), facility).Should().Be("oksana.shadura");
        SessionStore.ResolveStoreName(Session("a+b@cern.ch"), facility).Should().BeNull("'a+b' is no valid directory: the nobody directory is used");
        SessionStore.ResolveStoreName(Session("alice"), facility).Should().BeNull();
    }

    [Fact]
    public void No_store_when_the_facility_has_none()
    {
        var facility = SampleFacility();
        facility.Spec.UserStore.Enabled = false;
        SessionStore.ResolveStoreName(Session("sam.albin@unl.edu"), facility).Should().BeNull();
    }
}
