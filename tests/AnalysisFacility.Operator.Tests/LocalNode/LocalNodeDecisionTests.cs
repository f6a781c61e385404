using AnalysisFacility.LocalCluster.Node;
using k8s.Models;

namespace AnalysisFacility.Operator.Tests.LocalNode;

public sealed class LocalNodeDecisionTests
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 10)]
    [InlineData(2, 20)]
    [InlineData(3, 40)]
    [InlineData(10, 300)]
    public void Crash_loop_backoff_is_immediate_first_then_doubles_from_10_seconds_to_5_minutes(int restartsSoFar, int seconds) =>
        RestartPolicy.Backoff(restartsSoFar).Should().Be(TimeSpan.FromSeconds(seconds));

    [Theory]
    [InlineData("Always", 0, false, true)]
    [InlineData("Always", 0, true, false)]
    [InlineData("Always", 1, true, true)]
    [InlineData("OnFailure", 0, false, false)]
    [InlineData("OnFailure", 2, false, true)]
    [InlineData("Never", 1, false, false)]
    [InlineData(null, 0, false, true)]
    public void Restart_policy_decides_whether_a_container_starts_again(string? policy, int exitCode, bool isInit, bool restarts) =>
        RestartPolicy.Restarts(policy, exitCode, isInit).Should().Be(restarts);

    [Fact]
    public void Variable_references_expand_as_kubernetes_expands_them()
    {
        var env = new Dictionary<string, string> { ["A"] = "1", ["B"] = "two" };
        ContainerEnvironment.Expand("$(A)-$(B)", env).Should().Be("1-two");
        ContainerEnvironment.Expand("$$(A) $(MISSING) $", env).Should().Be("$(A) $(MISSING) $");
    }

    [Fact]
    public void Hosts_file_names_services_as_cluster_dns_does_and_headless_services_by_their_endpoints()
    {
        var pod = new V1Pod { Metadata = new V1ObjectMeta { Name = "p", NamespaceProperty = "ns" }, Spec = new V1PodSpec { Hostname = "web-0", Subdomain = "web" } };
        var services = new[]
        {
            new V1Service { Metadata = new V1ObjectMeta { Name = "hub", NamespaceProperty = "ns" }, Spec = new V1ServiceSpec { ClusterIP = "10.100.0.7" } },
            new V1Service { Metadata = new V1ObjectMeta { Name = "other", NamespaceProperty = "elsewhere" }, Spec = new V1ServiceSpec { ClusterIP = "10.100.0.8" } },
            new V1Service { Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = "ns" }, Spec = new V1ServiceSpec { ClusterIP = "None" } },
            new V1Service { Metadata = new V1ObjectMeta { Name = "alias", NamespaceProperty = "ns" }, Spec = new V1ServiceSpec { Type = "ExternalName", ExternalName = "other.elsewhere.svc.cluster.local" } },
            new V1Service { Metadata = new V1ObjectMeta { Name = "outside", NamespaceProperty = "ns" }, Spec = new V1ServiceSpec { Type = "ExternalName", ExternalName = "example.org" } },
        };
        var endpoints = new Dictionary<string, V1Endpoints>
        {
            ["ns/web"] = new() { Subsets = [new V1EndpointSubset { Addresses = [new V1EndpointAddress { Ip = "10.88.0.5", Hostname = "web-0" }] }] },
        };
        var hosts = ClusterDns.HostsFile(pod, "10.88.0.9", services, endpoints).Split('\n');
        hosts.Should().Contain("10.88.0.9\tweb-0.web.ns web-0.web.ns.svc web-0.web.ns.svc.cluster.local web-0");
        hosts.Should().Contain("10.100.0.7\thub hub.ns hub.ns.svc hub.ns.svc.cluster.local");
        hosts.Should().Contain("10.100.0.8\tother.elsewhere other.elsewhere.svc other.elsewhere.svc.cluster.local", "a Service of another namespace has no short name");
        hosts.Should().Contain("10.88.0.5\tweb-0.web.ns web-0.web.ns.svc web-0.web.ns.svc.cluster.local web web.ns web.ns.svc web.ns.svc.cluster.local");
        hosts.Should().Contain("10.100.0.8\talias alias.ns alias.ns.svc alias.ns.svc.cluster.local");
        string.Join('\n', hosts).Should().NotContain("outside", "names outside the cluster are never resolved here");
    }

    [Fact]
    public void The_launch_script_mounts_read_only_and_propagated_volumes_and_drops_to_the_container_user()
    {
        var identity = new ContainerIdentity(1000, 100, [2000], ["all"], NoNewPrivileges: true, Privileged: false);
        var script = ContainerLaunch.Script("web-0",
        [
            new ContainerMount("/var/lib/x/config", "/etc/app", ReadOnly: true),
            new ContainerMount("/srv/store", "/target", ReadOnly: false, Propagation: "Bidirectional"),
            new ContainerMount("/srv/source", "/source", ReadOnly: false, Propagation: "HostToContainer"),
        ], "/p/hosts", "/p/resolv.conf", "/work", identity);
        script.Should().Contain("/usr/bin/mount --bind '/var/lib/x/config' '/etc/app'\n/usr/bin/mount -o remount,bind,ro '/etc/app'");
        script.Should().Contain("/usr/bin/mount --bind '/srv/source' '/source'\n/usr/bin/mount --make-slave '/source'");
        script.Should().Contain("/usr/bin/mount --bind '/srv/store' '/target'\n");
        script.Should().NotContain("--make-slave '/target'", "Bidirectional mounts stay shared with the host");
        script.Should().Contain("exec /usr/bin/setpriv '--reuid=1000' '--regid=100' '--groups=2000' '--bounding-set=-all' '--inh-caps=-all' '--no-new-privs' -- \"$@\"");
        script.Should().Contain("cd '/work'");
        ContainerLaunch.Command("afp0-x", "/s.sh", "/l.log", propagates: true, ["app"]).Should().ContainInOrder("--propagation", "unchanged");
        ContainerLaunch.Command("afp0-x", "/s.sh", "/l.log", propagates: false, ["app"]).Should().ContainInOrder("--propagation", "private");
    }

    [Fact]
    public void A_container_without_a_program_on_this_machine_says_what_is_missing()
    {
        ProgramLocator.WhyNotRunnable(["sh", "-c", "true"], "busybox", ContainerEnvironment.DefaultPath).Should().BeNull();
        ProgramLocator.WhyNotRunnable(["tritonserver"], "nvcr.io/nvidia/tritonserver", ContainerEnvironment.DefaultPath).Should().Contain("'tritonserver'").And.Contain("not installed");
        ProgramLocator.WhyNotRunnable([], "quay.io/jupyterhub/k8s-hub:3.3.8", ContainerEnvironment.DefaultPath).Should().Contain("entrypoint");
    }

    [Fact]
    public void Pod_status_is_ready_only_when_every_container_is_ready()
    {
        var now = DateTime.UtcNow;
        var ready = new ContainerReport("a", "img", new ContainerState.Running(now), null, 0, Ready: true, Started: true);
        var waiting = new ContainerReport("b", "img", new ContainerState.Waiting("ImageNotRunnableHere", "program 'x' is not installed"), null, 0, false, false);
        var status = PodStatusBuilder.Build("Running", "10.88.0.2", "10.88.0.1", now, true, [], [ready, waiting], null);
        status.Conditions.Single(c => c.Type == "Ready").Status.Should().Be("False");
        status.Conditions.Single(c => c.Type == "Ready").Message.Should().Contain("[b]");
        status.ContainerStatuses[1].State.Waiting.Reason.Should().Be("ImageNotRunnableHere");
        PodStatusBuilder.Build("Running", "10.88.0.2", "10.88.0.1", now, true, [], [ready], null).Conditions.Single(c => c.Type == "Ready").Status.Should().Be("True");
    }
}
