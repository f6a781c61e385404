using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Sessions;
using k8s.Models;

namespace AnalysisFacility.Operator.Tests.Sessions;

public class SessionStatusTests
{
    private static readonly DateTime T0 = new(2025, 1, 1, 12, 0, 0, DateTimeKind.Utc);
    private static readonly SessionStorePlacement OwnStore = new(true, "salbin", false);

    private static V1Pod Pod(string phase, bool ready, string? ip = "10.1.2.3", string? waitingReason = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = "jupyter-salbin" },
        Status = new V1PodStatus
        {
            Phase = phase,
            PodIP = ip,
            Conditions = [new V1PodCondition { Type = "Ready", Status = ready ? "True" : "False" }],
            ContainerStatuses = phase == "Running"
                ? [new V1ContainerStatus { Name = "notebook", State = new V1ContainerState { Running = new V1ContainerStateRunning() } }]
                : waitingReason is null ? null
                : [new V1ContainerStatus { Name = "notebook", State = new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = waitingReason, Message = "pulling failed" } } }],
        },
    };

    private static string? StatusOf(UserSessionStatus status, string type) => status.Conditions.Single(c => c.Type == type).Status;

    [Fact]
    public void Nothing_yet_is_pending()
    {
        var status = SessionConditions.Derive(new SessionObservation { Store = OwnStore }, null, T0);

        status.Phase.Should().Be("Pending");
        status.Conditions.Select(c => c.Type).Should().Equal("TokenIssued", "StorageMounted", "ServerReady", "ServerUpToDate", "Ready");
        status.Conditions.Where(c => c.Type != "ServerUpToDate").Should().AllSatisfy(c => c.Status.Should().Be("False"));
        status.Conditions.Single(c => c.Type == "Ready").Reason.Should().Be("WaitingForToken");
        status.ServerUrl.Should().BeNull();
    }

    [Fact]
    public void A_pending_facility_change_is_reported_without_making_a_ready_session_unready()
    {
        var status = SessionConditions.Derive(new SessionObservation
        {
            TokenSecretPresent = true, Store = OwnStore, Pod = Pod("Running", true), RestartPending = "applies at the next start",
        }, null, T0);

        status.Phase.Should().Be("Ready");
        StatusOf(status, "Ready").Should().Be("True");
        var upToDate = status.Conditions.Single(c => c.Type == "ServerUpToDate");
        upToDate.Status.Should().Be("False");
        upToDate.Reason.Should().Be("RestartPending");
        upToDate.Message.Should().Be("applies at the next start");
    }

    [Fact]
    public void Running_but_not_ready_is_progressing_with_store_mounted()
    {
        var status = SessionConditions.Derive(new SessionObservation { TokenSecretPresent = true, Store = OwnStore, Pod = Pod("Running", false) }, null, T0);

        status.Phase.Should().Be("Progressing");
        StatusOf(status, "TokenIssued").Should().Be("True");
        StatusOf(status, "StorageMounted").Should().Be("True");
        StatusOf(status, "ServerReady").Should().Be("False");
        status.Conditions.Single(c => c.Type == "Ready").Reason.Should().Be("ServerStarting");
        status.ServerUrl.Should().BeNull("the hub must not be sent to a server that does not answer yet");
    }

    [Fact]
    public void Ready_pod_makes_the_session_ready_with_its_url()
    {
        var expiry = T0.AddHours(1);
        var status = SessionConditions.Derive(new SessionObservation
        {
            Generation = 3, TokenSecretPresent = true, TokenExpiresAt = expiry, Store = new SessionStorePlacement(true, "nobody", true), Pod = Pod("Running", true),
        }, null, T0);

        status.Phase.Should().Be("Ready");
        status.Conditions.Should().AllSatisfy(c => c.Status.Should().Be("True"));
        status.Conditions.Should().AllSatisfy(c => c.ObservedGeneration.Should().Be(3));
        status.Conditions.Single(c => c.Type == "StorageMounted").Reason.Should().Be("MountedReadOnly");
        status.ServerUrl.Should().Be("http://10.1.2.3:8888");
        status.PodName.Should().Be("jupyter-salbin");
        status.StoreName.Should().Be("nobody");
        status.StoreReadOnly.Should().BeTrue();
        status.TokenExpiresAt.Should().Be(expiry);
    }

    [Fact]
    public void Ipv6_pod_address_is_bracketed()
    {
        SessionConditions.ServerUrlFor("fd00::5").Should().Be("http://[fd00::5]:8888");
    }

    [Fact]
    public void Image_pull_failure_is_reported_as_the_reason()
    {
        var status = SessionConditions.Derive(new SessionObservation { TokenSecretPresent = true, Store = OwnStore, Pod = Pod("Pending", false, null, "ImagePullBackOff") }, null, T0);

        var ready = status.Conditions.Single(c => c.Type == "Ready");
        ready.Status.Should().Be("False");
        ready.Reason.Should().Be("WaitingForPod"); // the store comes first: it is only mounted once the pod starts
        status.Conditions.Single(c => c.Type == "ServerReady").Reason.Should().Be("ImagePullBackOff");
    }

    [Fact]
    public void Failed_pod_fails_the_session()
    {
        var pod = Pod("Failed", false);
        pod.Status.Reason = "Evicted";
        var status = SessionConditions.Derive(new SessionObservation { TokenSecretPresent = true, Store = OwnStore, Pod = pod }, null, T0);

        status.Phase.Should().Be("Failed");
        status.Conditions.Single(c => c.Type == "Ready").Message.Should().Contain("Evicted");
    }

    [Fact]
    public void Invalid_spec_fails_with_the_errors()
    {
        var status = SessionConditions.Derive(new SessionObservation { Errors = ["spec.profile: unknown profile 'huge'."] }, null, T0);

        status.Phase.Should().Be("Failed");
        var ready = status.Conditions.Single(c => c.Type == "Ready");
        ready.Reason.Should().Be("InvalidSpec");
        ready.Message.Should().Contain("unknown profile 'huge'");
    }

    [Fact]
    public void Unchanged_conditions_keep_their_transition_time()
    {
        var observation = new SessionObservation { TokenSecretPresent = true, Store = OwnStore, Pod = Pod("Running", false) };
        var first = SessionConditions.Derive(observation, null, T0);

        var second = SessionConditions.Derive(observation with { Pod = Pod("Running", true) }, first, T0.AddMinutes(5));

        second.Conditions.Single(c => c.Type == "TokenIssued").LastTransitionTime.Should().Be(T0);
        second.Conditions.Single(c => c.Type == "ServerReady").LastTransitionTime.Should().Be(T0.AddMinutes(5));
        var third = SessionConditions.Derive(observation with { Pod = Pod("Running", true) }, second, T0.AddMinutes(9));
        ApiJson.Serialize(third).Should().Be(ApiJson.Serialize(second), "a steady world must not cause status writes");
    }
}
