using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Controllers.Sessions;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Tests.SessionController;

public class SessionHubRegistrationTests
{
    private static UserSession Session(string? hubEnv) => new()
    {
        Metadata = new V1ObjectMeta { Name = "sam-albin", NamespaceProperty = "cmsaf" },
        Spec = new UserSessionSpec { FacilityRef = "cms-af", User = new SessionUser { Name = "sam.albin@unl.edu" }, HubEnvSecretName = hubEnv },
    };

    private static FacilityResource Facility(bool hub) => new()
    {
        Metadata = new V1ObjectMeta { Name = "cms-af", NamespaceProperty = "cmsaf" },
        Spec = new AnalysisFacilitySpec { Hub = new HubSpec { Enabled = hub } },
    };

    [Theory]
    [InlineData(null, true, true)]        // an admin's session at a facility with a hub: waits for the user's login
    [InlineData("hub-env", true, false)]  // started (or adopted) by the hub
    [InlineData(null, false, false)]      // no hub at all: nothing to wait for
    public void A_session_without_the_hub_environment_says_it_waits_for_its_users_login(string? hubEnv, bool hub, bool awaited)
    {
        var result = SessionHubRegistration.Awaited(Session(hubEnv), Facility(hub));

        if (!awaited)
        {
            result.Should().BeNull();
            return;
        }
        result!.Value.Reason.Should().Be(SessionHubRegistration.AwaitingHubLoginReason);
        result.Value.Message.Should().Contain("sam.albin@unl.edu").And.Contain("logs in to the hub");
    }
}
