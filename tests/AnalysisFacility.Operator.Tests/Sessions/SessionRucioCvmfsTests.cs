using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Facility;
using AnalysisFacility.Operator.Builders.Sessions;
using AnalysisFacility.Operator.Controllers.Sessions;
using k8s.Models;
using static AnalysisFacility.Operator.Tests.Sessions.SessionFixtures;

namespace AnalysisFacility.Operator.Tests.Sessions;

public class SessionRucioCvmfsTests
{
    private static RucioSpec Rucio(string accountFrom = "map") => new()
    {
        Enabled = true,
        Host = "https://cms-rucio.cern.ch",
        AuthHost = "https://cms-rucio-auth.cern.ch",
        OidcIssuer = "cms",
        AccountFrom = accountFrom,
        Accounts = [new RucioAccountMapping { User = "oksana.shadura@cern.ch", Account = "oshadura" }],
    };

    [Fact]
    public void Rucio_account_comes_from_the_mapping_or_the_store_name_and_is_never_guessed()
    {
        SessionRucio.AccountFor(Rucio(), "oksana.shadura@cern.ch", "someone").Account.Should().Be("oshadura");
        SessionRucio.AccountFor(Rucio("storeName"), "sam.albin@unl.edu", "salbin").Account.Should().Be("salbin");
        var unknown = SessionRucio.AccountFor(Rucio(), "sam.albin@unl.edu", "salbin");
        unknown.Account.Should().BeNull("accountFrom map only uses the mapping");
        unknown.Reason.Should().Be("AccountUnknown");
        SessionRucio.AccountFor(Rucio("storeName"), "alice", null).Account.Should().BeNull();
        SessionRucio.AccountFor(Rucio("storeName"), "bob", "Bob.Smith").Account.Should().BeNull("not a Rucio account name");
    }

    [Fact]
    public void Session_gets_RUCIO_HOME_with_a_rucio_cfg_that_uses_its_token_file()
    {
        var facility = SampleFacility();
        facility.Spec.Rucio = Rucio("storeName");
        var objects = Build(facility: facility, context: Context() with { Rucio = SessionRucio.AccountFor(facility.Spec.Rucio, "sam.albin@unl.edu", "salbin") });

        objects.ClientConfig.Data["RUCIO_HOME"].Should().Be(SessionRucio.Home);
        var cfg = objects.ClientConfig.Data[SessionRucio.ConfigKey];
        cfg.Should().StartWith("# Generated").And.Contain("[client]\n").And.Contain("rucio_host = https://cms-rucio.cern.ch\n")
            .And.Contain("auth_host = https://cms-rucio-auth.cern.ch\n").And.Contain("auth_type = oidc\n").And.Contain("account = salbin\n")
            .And.Contain("oidc_issuer = cms\n").And.Contain($"auth_token_file_path = {new TokenDeliveryDouble().TokenFilePath}\n");
        var volume = objects.Pod.Spec.Volumes.Single(v => v.Name == SessionBuilder.ClientConfigVolume);
        volume.ConfigMap.Items.Should().Contain(i => i.Key == SessionRucio.ConfigKey && i.Path == "rucio/etc/rucio.cfg");
        Build().ClientConfig.Data.Should().NotContainKey(SessionRucio.ConfigKey, "no spec.rucio, no Rucio configuration");
    }

    [Fact]
    public void Underivable_rucio_account_is_a_session_condition_not_a_guess()
    {
        var facility = SampleFacility();
        facility.Spec.Rucio = Rucio();
        var plan = SessionPlanning.Plan(Session(), facility, null);
        plan.Services.Should().ContainSingle().Which.Should().Match<ServiceCondition>(c =>
            c.Type == SessionRucio.ConditionType && !c.Status && c.Reason == "AccountUnknown");
        plan.Build.Objects!.ClientConfig.Data[SessionRucio.ConfigKey].Should().NotContain("account =");

        var status = SessionConditions.Derive(new SessionObservation { Services = plan.Services }, null, DateTime.UtcNow);
        status.Conditions.Should().Contain(c => c.Type == SessionRucio.ConditionType && c.Status == "False" && c.Reason == "AccountUnknown");
    }

    [Fact]
    public void Missing_rucio_hosts_are_spec_errors()
    {
        SessionRucio.Validate(new RucioSpec { Enabled = true }).Should().HaveCount(2);
        SessionRucio.Validate(new RucioSpec()).Should().BeEmpty();
    }

    [Fact]
    public void Cvmfs_is_one_read_only_many_claim_of_the_driver_class_mounted_at_cvmfs_with_host_to_container_propagation()
    {
        var facility = SampleFacility();
        facility.Spec.Cvmfs = new CvmfsSpec { Enabled = true, StorageClassName = "cvmfs", Repositories = ["cms.cern.ch"] };
        var component = CvmfsBuilder.Build(facility);
        var claim = component.Objects.OfType<V1PersistentVolumeClaim>().Single();
        claim.Metadata.Name.Should().Be(SessionCvmfs.ClaimName("cms-af"));
        claim.Spec.AccessModes.Should().Equal("ReadOnlyMany");
        claim.Spec.StorageClassName.Should().Be("cvmfs");

        var objects = Build(facility: facility);
        var mount = objects.Pod.Spec.Containers.Single(c => c.Name == SessionBuilder.NotebookContainer).VolumeMounts.Single(m => m.Name == SessionCvmfs.Volume);
        mount.MountPath.Should().Be("/cvmfs");
        mount.MountPropagation.Should().Be("HostToContainer", "autofs mounts made on the node must reach the container");
        objects.Pod.Spec.Volumes.Single(v => v.Name == SessionCvmfs.Volume).PersistentVolumeClaim.ClaimName.Should().Be(claim.Metadata.Name);
        Build().Pod.Spec.Volumes.Should().NotContain(v => v.Name == SessionCvmfs.Volume);
    }

    [Fact]
    public void Missing_or_foreign_storage_class_is_reported_with_what_to_install()
    {
        var cvmfs = new CvmfsSpec { Enabled = true, StorageClassName = "cvmfs" };
        SessionCvmfs.DriverProblem(cvmfs, null, false).Should().Contain("does not exist").And.Contain("cvmfs-csi");
        SessionCvmfs.DriverProblem(cvmfs, "kubernetes.io/no-provisioner", true).Should().Contain("not cvmfs.csi.cern.ch");
        SessionCvmfs.DriverProblem(cvmfs, SessionCvmfs.DriverName, true).Should().BeNull();
    }
}
