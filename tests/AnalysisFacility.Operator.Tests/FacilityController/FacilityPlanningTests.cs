using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Facility;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.Operator.Controllers.Facility;
using AnalysisFacility.Operator.Tokens.Issuance;
using k8s;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Tests.FacilityController;

public sealed class FacilityPlanningTests
{
    private static readonly DateTime Now = new(2025, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    private static FacilityResource Facility() => new()
    {
        Metadata = new V1ObjectMeta { Name = "af", NamespaceProperty = "ns", Uid = "uid-1", Generation = 3 },
        Spec = new AnalysisFacilitySpec
        {
            Tokens = new TokenIssuerSpec { Issuer = "https://af.example.org/issuer", Audiences = ["https://xcache.example.org"] },
            Hub = new HubSpec { Authentication = new HubAuthentication { Type = "dummy" } },
        },
    };

    private static ComponentObjects Component(string name, bool valid = true, params IKubernetesObject<V1ObjectMeta>[] objects) =>
        valid ? ComponentObjects.Of(name, name + "Ready", objects) : ComponentObjects.Invalid(name, name + "Ready", ["spec.x is wrong"]);

    private static V1Deployment Deployment(string name) => new() { ApiVersion = "apps/v1", Kind = "Deployment", Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "ns" } };

    [Fact]
    public void Pruning_removes_undesired_objects_but_keeps_retained_data_invalid_components_and_foreign_objects()
    {
        var components = new[]
        {
            Component("hub", true, Deployment("hub")),
            Component("triton", valid: false),
            ComponentObjects.Disabled("mlflow", "MlflowReady"),
        };
        var observed = new[]
        {
            new ObservedObject("apps/v1", "Deployment", "ns", "hub", "hub", false),        // desired
            new ObservedObject("v1", "Service", "ns", "hub-old", "hub", false),            // no longer desired
            new ObservedObject("apps/v1", "Deployment", "ns", "triton", "triton", false),  // component invalid: keep
            new ObservedObject("apps/v1", "Deployment", "ns", "mlflow", "mlflow", false),  // component disabled: prune
            new ObservedObject("v1", "PersistentVolumeClaim", "ns", "mlflow-data", "mlflow", true), // retained data
            new ObservedObject("v1", "Secret", "ns", "session-token", null, false),        // not made by this controller
        };
        FacilityPlanning.SelectPrunable(components, observed).Select(o => o.Name).Should().BeEquivalentTo(["hub-old", "mlflow"]);
    }

    [Fact]
    public void Workload_state_reflects_ready_replicas_and_rollout()
    {
        var deployment = new V1Deployment
        {
            Metadata = new V1ObjectMeta { Generation = 2 },
            Spec = new V1DeploymentSpec { Replicas = 2 },
            Status = new V1DeploymentStatus { ObservedGeneration = 2, ReadyReplicas = 2, UpdatedReplicas = 2 },
        };
        WorkloadState.Of(deployment).IsReady.Should().BeTrue();
        deployment.Status.UpdatedReplicas = 1;
        WorkloadState.Of(deployment).IsReady.Should().BeFalse("a rollout is in progress");
        deployment.Status.UpdatedReplicas = 2;
        deployment.Metadata.Generation = 3;
        WorkloadState.Of(deployment).IsReady.Should().BeFalse("the Deployment controller has not seen the new spec");
        WorkloadState.Of(null).Exists.Should().BeFalse();
        WorkloadState.Of(new V1StatefulSet { Metadata = new V1ObjectMeta(), Spec = new V1StatefulSetSpec { Replicas = 1 }, Status = new V1StatefulSetStatus { ReadyReplicas = 0 } })
            .IsReady.Should().BeFalse();
    }

    [Fact]
    public void Status_has_a_condition_per_enabled_component_and_Ready_only_when_all_are()
    {
        var facility = Facility();
        var components = new[] { Component("hub", true, Deployment("hub")), ComponentObjects.Disabled("triton", "TritonReady") };
        var published = new IssuerOutcome(true, "Published", "ok", ["k1"], "k1");
        facility.Status.Conditions.Add(new Condition { Type = "TritonReady", Status = "True" }); // from before it was disabled

        var notReady = FacilityPlanning.Status(facility, components, _ => new WorkloadState(true, 1, 0, true), published, [], Now);
        notReady.Conditions.Select(c => c.Type).Should().BeEquivalentTo(["Ready", "IssuerReady", "hubReady"]);
        notReady.Conditions.Single(c => c.Type == "hubReady").Message.Should().Contain("Deployment hub 0/1 ready");
        notReady.Conditions.Single(c => c.Type == "Ready").Status.Should().Be("False");
        notReady.Phase.Should().Be("Progressing");
        notReady.ObservedGeneration.Should().Be(3);
        notReady.ActiveKeyId.Should().Be("k1");

        facility.Status = notReady;
        var ready = FacilityPlanning.Status(facility, components, _ => new WorkloadState(true, 1, 1, true), published, [], Now.AddMinutes(1));
        ready.Conditions.Should().OnlyContain(c => c.Status == "True");
        ready.Phase.Should().Be("Ready");
        ready.Conditions.Single(c => c.Type == "Ready").LastTransitionTime.Should().Be(Now.AddMinutes(1));

        // Same observation again: identical status (no write), transition times kept.
        facility.Status = ready;
        var again = FacilityPlanning.Status(facility, components, _ => new WorkloadState(true, 1, 1, true), published, [], Now.AddMinutes(5));
        again.Conditions.Select(c => (c.Type, c.Status, c.LastTransitionTime)).Should().Equal(ready.Conditions.Select(c => (c.Type, c.Status, c.LastTransitionTime)));
    }

    [Fact]
    public void Invalid_spec_and_issuer_conflict_make_Ready_False_with_their_reason()
    {
        var facility = Facility();
        var components = new[] { Component("hub", true), Component("triton", valid: false) };
        var invalid = FacilityPlanning.Status(facility, components, _ => WorkloadState.Missing,
            new IssuerOutcome(true, "Published", "ok", [], null), ["spec.triton.modelRepository is required"], Now);
        invalid.Conditions.Single(c => c.Type == "Ready").Reason.Should().Be(FacilityPlanning.InvalidSpecReason);
        invalid.Conditions.Single(c => c.Type == "Ready").Message.Should().Contain("spec.triton.modelRepository");
        invalid.Conditions.Single(c => c.Type == "tritonReady").Reason.Should().Be(FacilityPlanning.InvalidSpecReason);
        invalid.Phase.Should().Be("Failed");

        var conflict = FacilityPlanning.Status(facility, [Component("hub", true)], _ => WorkloadState.Missing,
            new IssuerOutcome(false, "IssuerPathConflict", "path taken", [], null), [], Now);
        conflict.Conditions.Single(c => c.Type == "Ready").Reason.Should().Be("IssuerPathConflict");
    }

    [Fact]
    public void Identities_use_the_minters_subject_for_this_facilitys_session_users_only()
    {
        var facility = Facility();
        UserSession Session(string user, string facilityRef, string ns = "ns") => new()
        {
            Metadata = new V1ObjectMeta { Name = user, NamespaceProperty = ns },
            Spec = new UserSessionSpec { FacilityRef = facilityRef, User = new SessionUser { Name = user } },
        };
        var identities = FacilityPlanning.Identities(facility, [Session("alice", "af"), Session("alice", "af"), Session("bob", "other"), Session("carol", "af", "elsewhere")]);
        identities.Should().Equal(new ScitokensIdentity(SubjectIds.For("uid-1", "alice"), "alice"));
    }

    [Fact]
    public void Render_shows_every_component_the_spawner_module_and_the_token_secrets_labelled_for_tracking()
    {
        var facility = Facility();
        facility.Spec.UserStore = new UserStoreSpec { Enabled = true, SourcePath = "/src", TargetPath = "/dst" };
        var objects = FacilityRendering.Render(facility, new RenderSet { Facilities = [facility] }, new OperatorSettings());
        objects.Should().Contain(o => o.Kind == "ConfigMap" && o.Metadata.Name == FacilitySecrets.SpawnerConfigMapName("af"));
        objects.Should().Contain(o => o.Kind == "Secret" && o.Metadata.Name == FacilitySecrets.IssuerKeysSecretName("af"));
        objects.Should().Contain(o => o.Kind == "Secret" && o.Metadata.Name == FacilitySecrets.CaSecretName("af"));
        objects.Should().OnlyContain(o => FacilityLabels.BelongsTo(o, "ns", "af"));
        objects.Where(o => o.Kind == "PersistentVolume").Should().ContainSingle().Which.Metadata.NamespaceProperty.Should().BeNull();
        objects.Where(FacilityPlanning.NeedsOwnerReference).Should().NotContain(o => o.Kind == "PersistentVolume" || DataRetention.IsRetained(o));
        var spawner = (V1ConfigMap)objects.Single(o => o.Metadata.Name == FacilitySecrets.SpawnerConfigMapName("af"));
        spawner.Data[FacilityPlanning.SpawnerModuleKey].Should().NotBeNullOrWhiteSpace();
        FacilitySecrets.IssuerKeysSecretName("af").Should().Be("af-issuer-keys");
        FacilitySecrets.CaSecretName("af").Should().Be("af-ca");
    }

    [Fact]
    public void A_components_notice_becomes_its_own_condition_without_holding_Ready_back()
    {
        var facility = Facility();
        var published = new IssuerOutcome(true, "Published", "ok", ["k1"], "k1");
        var servicex = Component("servicex", true, Deployment("servicex")) with
        {
            Notices = [new Builders.Sessions.ServiceCondition("ServiceXRucioFinderReady", false, "MissingCredentials", "needs spec.serviceX.rucioFinder.x509Proxy")],
        };
        var status = FacilityPlanning.Status(facility, [servicex], _ => new WorkloadState(true, 1, 1, true), published, [], Now);
        var notice = status.Conditions.Single(c => c.Type == "ServiceXRucioFinderReady");
        (notice.Status, notice.Reason, notice.Message).Should().Be(("False", "MissingCredentials", "needs spec.serviceX.rucioFinder.x509Proxy"));
        status.Phase.Should().Be("Ready", "the app and the other finders run");

        facility.Status = status;
        var fixedUp = FacilityPlanning.Status(facility, [Component("servicex", true, Deployment("servicex"))], _ => new WorkloadState(true, 1, 1, true), published, [], Now);
        fixedUp.Conditions.Should().NotContain(c => c.Type == "ServiceXRucioFinderReady", "a notice no longer reported is dropped");
    }
}
