using System.Text;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.Tokens;
using AnalysisFacility.Operator.Tokens.Issuance;
using k8s.Models;

namespace AnalysisFacility.Operator.Tests.Tokens;

public sealed class TokenDeliveryTests
{
    private static readonly MintedToken Token = new("aaa.bbb.ccc", "kid-1", "sub-1", "jti-1",
        new DateTimeOffset(2025, 1, 1, 12, 0, 0, TimeSpan.Zero), new DateTimeOffset(2025, 1, 1, 13, 0, 0, TimeSpan.Zero), [], []);

    private static TokenPodPieces Pieces() =>
        TokenDelivery.BuildPodPieces(new TokenDeliveryOptions(TokenDelivery.SecretName("cms-af", "alice@example.org"), "busybox:1.36", 1000, 100));

    [Fact]
    public void Secret_holds_the_bare_token_with_complete_metadata()
    {
        var secret = TokenDelivery.BuildSecret("cms-af", "af", "alice@example.org", Token);
        secret.ApiVersion.Should().Be("v1");
        secret.Kind.Should().Be("Secret");
        secret.Metadata.Name.Should().MatchRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").And.StartWith("cms-af-token-alice");
        secret.Metadata.NamespaceProperty.Should().Be("af");
        secret.Metadata.Labels[Labels.User].Should().Be("alice-example.org");
        secret.Metadata.Labels[Labels.Facility].Should().Be("cms-af");
        Encoding.ASCII.GetString(secret.Data["token"]).Should().Be("aaa.bbb.ccc", "no trailing newline");
        secret.Metadata.Annotations.Values.Should().NotContain(v => v.Contains("aaa.bbb"));
        secret.Metadata.Annotations["analysisfacility.io/token-refresh-at"].Should().Be(Token.NextRefreshAt.ToString("O"));
    }

    [Fact]
    public void Main_containers_find_the_token_by_every_discovery_location_and_never_by_env_value()
    {
        var pieces = Pieces();
        var env = pieces.MainEnvironment.ToDictionary(e => e.Name, e => e.Value);
        env["BEARER_TOKEN_FILE"].Should().Be("/run/user/1000/bt_u1000");
        env["XDG_RUNTIME_DIR"].Should().Be("/run/user/1000");
        (env["XDG_RUNTIME_DIR"] + "/bt_u1000").Should().Be(env["BEARER_TOKEN_FILE"]);
        env["_condor_SCITOKENS_FILE"].Should().Be(env["BEARER_TOKEN_FILE"]);
        env.Should().NotContainKey("BEARER_TOKEN");
        pieces.MainMounts.Select(m => m.MountPath).Should().BeEquivalentTo("/run/user/1000", "/tmp");
        pieces.InitContainer.Env.Single(e => e.Name == "LINK").Value.Should().Be("/tmp/bt_u1000");
        pieces.InitContainer.Env.Single(e => e.Name == "DEST").Value.Should().Be(env["BEARER_TOKEN_FILE"]);
    }

    [Fact]
    public void Token_volume_is_in_memory_and_the_secret_is_mounted_only_in_the_helpers()
    {
        var pieces = Pieces();
        var runtime = pieces.Volumes.Single(v => v.EmptyDir?.Medium == "Memory");
        pieces.MainMounts.Should().Contain(m => m.Name == runtime.Name);
        var source = pieces.Volumes.Single(v => v.Secret is not null);
        source.Secret.SecretName.Should().Be(TokenDelivery.SecretName("cms-af", "alice@example.org"));
        pieces.MainMounts.Should().NotContain(m => m.Name == source.Name);
        pieces.InitContainer.VolumeMounts.Single(m => m.Name == source.Name).ReadOnlyProperty.Should().BeTrue();
        pieces.RefresherContainer.VolumeMounts.Should().Contain(m => m.Name == source.Name);
    }

    [Fact]
    public void Helpers_run_as_the_pod_user_from_the_helper_image_without_privileges()
    {
        var pieces = Pieces();
        foreach (var helper in new[] { pieces.InitContainer, pieces.RefresherContainer })
        {
            helper.Image.Should().Be("busybox:1.36");
            helper.SecurityContext.RunAsUser.Should().Be(1000, "the token file must be owned by the pod's user");
            helper.SecurityContext.AllowPrivilegeEscalation.Should().BeFalse();
            helper.SecurityContext.Capabilities.Drop.Should().Contain("ALL");
            helper.Command.Should().StartWith(["/bin/sh", "-c"]);
        }
        pieces.InitContainer.Command[2].Should().Be(TokenDelivery.InitScript);
        pieces.RefresherContainer.Command[2].Should().Be(TokenDelivery.RefresherScript);
    }

    [Fact]
    public void Adding_to_a_pod_puts_the_init_container_first_and_wires_only_the_named_containers()
    {
        var pod = new V1PodSpec
        {
            InitContainers = [new V1Container { Name = "setup" }],
            Containers =
            [
                new V1Container { Name = "notebook", Env = [new V1EnvVar { Name = "BEARER_TOKEN", Value = "stale" }] },
                new V1Container { Name = "metrics" },
            ],
        };
        TokenDelivery.AddTo(pod, Pieces(), ["notebook"]);

        pod.InitContainers.Select(c => c.Name).Should().Equal(TokenDelivery.InitContainerName, "setup");
        pod.Containers.Select(c => c.Name).Should().Equal("notebook", "metrics", TokenDelivery.RefresherContainerName);
        var notebook = pod.Containers[0];
        notebook.Env.Select(e => e.Name).Should().Contain("BEARER_TOKEN_FILE").And.NotContain("BEARER_TOKEN");
        pod.Containers[1].Env.Should().BeNull();
        pod.Volumes.Should().HaveCount(3);
    }

    [Fact]
    public void A_pod_that_gets_the_token_helpers_gets_the_fsGroup_they_read_the_Secret_through()
    {
        var pod = new V1PodSpec { Containers = [new V1Container { Name = "scheduler" }] };
        TokenDelivery.AddTo(pod, Pieces(), ["scheduler"]);
        pod.SecurityContext.FsGroup.Should().Be(100, "the helpers run as uid 1000, group 100 and the Secret's files are root-owned 0440");

        var own = new V1PodSpec { SecurityContext = new V1PodSecurityContext { FsGroup = 42 }, Containers = [new V1Container { Name = "scheduler" }] };
        TokenDelivery.AddTo(own, Pieces(), ["scheduler"]);
        own.SecurityContext.FsGroup.Should().Be(42, "a pod's own fsGroup is kept");
    }
}
