using System.Text;
using AnalysisFacility.Operator.IntegrationTests.Support;
using k8s;
using k8s.Models;

namespace AnalysisFacility.Operator.IntegrationTests.LocalNode;

/// <summary>The local node runs pods as real processes, scheduled by the real kube-scheduler.</summary>
[Collection(LocalClusterCollection.Name)]
public sealed class LocalNodeTests(LocalClusterFixture fixture)
{
    private Kubernetes Client => fixture.Client;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static V1Pod HttpServerPod(string name, int port, Dictionary<string, string>? labels = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, Labels = labels ?? new Dictionary<string, string> { ["app"] = name } },
        Spec = new V1PodSpec
        {
            TerminationGracePeriodSeconds = 5,
            Containers =
            [
                new V1Container
                {
                    Name = "web", Image = "python:3",
                    Command = ["python3", "-m", "http.server", port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
                    WorkingDir = "/tmp",
                    Ports = [new V1ContainerPort { Name = "http", ContainerPort = port }],
                    ReadinessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Path = "/", Port = "http" }, PeriodSeconds = 1 },
                },
            ],
        },
    };

    [Fact]
    public async Task A_pod_becomes_ready_by_its_probe_restarts_when_killed_and_is_gone_with_its_namespace_when_deleted()
    {
        var ns = await fixture.CreateNamespaceAsync("node-lifecycle");
        // The probe answers only once the server listens: it sleeps 3 s first, and must not be Ready before.
        var pod = HttpServerPod("web", 8080);
        pod.Spec.Containers[0].Command = ["sh", "-c", "sleep 3; exec python3 -m http.server 8080"];
        await Client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var running = await Pods.WaitAsync(Client, ns, "web", p => p.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Running is not null, Patience, "running");
        Pods.IsReady(running).Should().BeFalse("the server is still sleeping, so the readiness probe cannot pass yet");
        var ready = await Pods.WaitAsync(Client, ns, "web", Pods.IsReady, Patience, "Ready");
        ready.Spec.NodeName.Should().Be(fixture.Cluster.Node.Name, "the real scheduler bound it to the local node");
        ready.Status.PodIP.Should().StartWith("10.88.");
        using (var http = new HttpClient())
        {
            (await http.GetAsync($"http://{ready.Status.PodIP}:8080/")).IsSuccessStatusCode.Should().BeTrue();
        }

        var worker = fixture.Cluster.Node.Find(ns, "web")!;
        var pid = worker.Containers[0].Pid!.Value;
        System.Diagnostics.Process.GetProcessById(pid).Kill();
        var restarted = await Pods.WaitAsync(Client, ns, "web", p => p.Status?.ContainerStatuses?[0].RestartCount == 1 && Pods.IsReady(p), Patience, "restarted and Ready");
        restarted.Status.ContainerStatuses[0].LastState.Terminated.Should().NotBeNull();
        var netns = worker.Sandbox!.Netns;
        var newPid = worker.Containers[0].Pid!.Value;
        newPid.Should().NotBe(pid);

        await Client.CoreV1.DeleteNamespacedPodAsync("web", ns);
        await Pods.WaitGoneAsync(Client, ns, "web", Patience);
        ProcessTable(newPid).Should().BeFalse("the container's process ends with its pod");
        Directory.Exists($"/run/netns/{netns}").Should().BeFalse("the pod's network namespace is removed");
    }

    [Fact]
    public async Task A_pod_that_cannot_fit_stays_pending_with_the_schedulers_reason()
    {
        var ns = await fixture.CreateNamespaceAsync("node-fit");
        var pod = HttpServerPod("huge", 8080);
        pod.Spec.Containers[0].Resources = new V1ResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("500") } };
        await Client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var pending = await Pods.WaitAsync(Client, ns, "huge", p => p.Status?.Conditions?.Any(c => c.Type == "PodScheduled" && c.Status == "False") == true, Patience, "unschedulable");
        var condition = pending.Status.Conditions.Single(c => c.Type == "PodScheduled");
        condition.Reason.Should().Be("Unschedulable");
        condition.Message.Should().Contain("Insufficient cpu");
        pending.Status.Phase.Should().Be("Pending");
    }

    [Fact]
    public async Task ConfigMap_and_Secret_keys_appear_at_mount_path_and_subPath_with_their_modes_and_env_comes_from_every_source()
    {
        var ns = await fixture.CreateNamespaceAsync("node-volumes");
        await Client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new V1ObjectMeta { Name = "settings" },
            Data = new Dictionary<string, string> { ["app.conf"] = "colour=blue\n", ["LEVEL"] = "debug", ["other"] = "x" },
        }, ns);
        await Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "creds" },
            Data = new Dictionary<string, byte[]> { ["password"] = "s3cret"u8.ToArray(), ["PREFIXED"] = "yes"u8.ToArray() },
        }, ns);
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "reader", Labels = new Dictionary<string, string> { ["team"] = "cms" } },
            Spec = new V1PodSpec
            {
                TerminationGracePeriodSeconds = 1,
                Containers =
                [
                    new V1Container
                    {
                        Name = "main", Image = "debian", Command = ["sleep", "600"],
                        Resources = new V1ResourceRequirements { Limits = new Dictionary<string, ResourceQuantity> { ["memory"] = new("64Mi") } },
                        Env =
                        [
                            new V1EnvVar { Name = "PLAIN", Value = "plain" },
                            new V1EnvVar { Name = "EXPANDED", Value = "$(PLAIN)-and-more" },
                            new V1EnvVar { Name = "FROM_CM", ValueFrom = new V1EnvVarSource { ConfigMapKeyRef = new V1ConfigMapKeySelector { Name = "settings", Key = "LEVEL" } } },
                            new V1EnvVar { Name = "FROM_SECRET", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = "creds", Key = "password" } } },
                            new V1EnvVar { Name = "POD_NAME", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } },
                            new V1EnvVar { Name = "POD_IP", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "status.podIP" } } },
                            new V1EnvVar { Name = "TEAM", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.labels['team']" } } },
                            new V1EnvVar { Name = "MEM_MI", ValueFrom = new V1EnvVarSource { ResourceFieldRef = new V1ResourceFieldSelector { Resource = "limits.memory", Divisor = new ResourceQuantity("1Mi") } } },
                        ],
                        EnvFrom =
                        [
                            new V1EnvFromSource { ConfigMapRef = new V1ConfigMapEnvSource { Name = "settings" }, Prefix = "CM_" },
                            new V1EnvFromSource { SecretRef = new V1SecretEnvSource { Name = "creds" } },
                        ],
                        VolumeMounts =
                        [
                            new V1VolumeMount { Name = "settings", MountPath = "/etc/af-node-test/settings" },
                            new V1VolumeMount { Name = "settings", MountPath = "/etc/af-node-test/app.conf", SubPath = "app.conf" },
                            new V1VolumeMount { Name = "creds", MountPath = "/etc/af-node-test/creds", ReadOnlyProperty = true },
                            new V1VolumeMount { Name = "scratch", MountPath = "/scratch" },
                        ],
                    },
                ],
                Volumes =
                [
                    new V1Volume { Name = "settings", ConfigMap = new V1ConfigMapVolumeSource { Name = "settings", Items = [new V1KeyToPath { Key = "app.conf", Path = "app.conf" }, new V1KeyToPath { Key = "LEVEL", Path = "sub/level", Mode = Convert.ToInt32("600", 8) }] } },
                    new V1Volume { Name = "creds", Secret = new V1SecretVolumeSource { SecretName = "creds", DefaultMode = Convert.ToInt32("400", 8) } },
                    new V1Volume { Name = "scratch", EmptyDir = new V1EmptyDirVolumeSource { Medium = "Memory" } },
                ],
            },
        };
        await Client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var ready = await Pods.WaitAsync(Client, ns, "reader", Pods.IsReady, Patience, "Ready");

        var env = await ExecAsync(ns, "reader", "env");
        env.Should().Contain("PLAIN=plain").And.Contain("EXPANDED=plain-and-more").And.Contain("FROM_CM=debug").And.Contain("FROM_SECRET=s3cret")
            .And.Contain("POD_NAME=reader").And.Contain($"POD_IP={ready.Status.PodIP}").And.Contain("TEAM=cms").And.Contain("MEM_MI=64")
            .And.Contain("CM_app.conf=colour=blue").And.Contain("CM_LEVEL=debug").And.Contain("PREFIXED=yes").And.Contain("KUBERNETES_SERVICE_HOST=");

        (await ExecAsync(ns, "reader", "cat", "/etc/af-node-test/settings/app.conf")).Should().Be("colour=blue\n");
        (await ExecAsync(ns, "reader", "cat", "/etc/af-node-test/app.conf")).Should().Be("colour=blue\n");
        (await ExecAsync(ns, "reader", "stat", "-L", "-c", "%a", "/etc/af-node-test/settings/sub/level")).Trim().Should().Be("600");
        (await ExecAsync(ns, "reader", "stat", "-L", "-c", "%a", "/etc/af-node-test/creds/password")).Trim().Should().Be("400");
        (await ExecAsync(ns, "reader", "cat", "/etc/af-node-test/creds/password")).Should().Be("s3cret");
        (await ExecAsync(ns, "reader", "stat", "-f", "-c", "%T", "/scratch")).Trim().Should().Be("tmpfs");
        var readOnly = await fixture.Cluster.Node.ExecAsync(ns, "reader", null, ["sh", "-c", "echo x > /etc/af-node-test/creds/new"], TimeSpan.FromSeconds(10), default);
        readOnly.ExitCode.Should().NotBe(0, "the Secret is mounted read-only");
        File.Exists("/etc/af-node-test/settings/app.conf").Should().BeFalse("mounts live in the container's mount namespace, not the host's");

        // A whole-volume mount sees an update; the subPath mount keeps the content it started with, as on a kubelet.
        var map = await Client.CoreV1.ReadNamespacedConfigMapAsync("settings", ns);
        map.Data["app.conf"] = "colour=red\n";
        map.Metadata.ManagedFields = null; // KubernetesClient.Aot cannot write them back (see LocalNode.UntaintAsync)
        await Client.CoreV1.ReplaceNamespacedConfigMapAsync(map, "settings", ns);
        await Eventually.TrueAsync(async () => await ExecAsync(ns, "reader", "cat", "/etc/af-node-test/settings/app.conf") == "colour=red\n",
            TimeSpan.FromSeconds(30), "ConfigMap update seen in the whole-volume mount");
        (await ExecAsync(ns, "reader", "cat", "/etc/af-node-test/app.conf")).Should().Be("colour=blue\n");
    }

    [Fact]
    public async Task A_non_root_user_cannot_read_another_users_0600_file()
    {
        var ns = await fixture.CreateNamespaceAsync("node-user");
        await Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret { Metadata = new V1ObjectMeta { Name = "private" }, Data = new Dictionary<string, byte[]> { ["key"] = "k"u8.ToArray() } }, ns);
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "nobody" },
            Spec = new V1PodSpec
            {
                TerminationGracePeriodSeconds = 1,
                SecurityContext = new V1PodSecurityContext { RunAsUser = 65534, RunAsGroup = 65534 },
                Containers = [new V1Container { Name = "main", Image = "debian", Command = ["sleep", "600"], VolumeMounts = [new V1VolumeMount { Name = "private", MountPath = "/private" }] }],
                Volumes = [new V1Volume { Name = "private", Secret = new V1SecretVolumeSource { SecretName = "private", DefaultMode = Convert.ToInt32("600", 8) } }],
            },
        };
        await Client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        await Pods.WaitAsync(Client, ns, "nobody", Pods.IsReady, Patience, "Ready");
        (await ExecAsync(ns, "nobody", "id", "-u")).Trim().Should().Be("65534");
        var read = await fixture.Cluster.Node.ExecAsync(ns, "nobody", null, ["cat", "/private/key"], TimeSpan.FromSeconds(10), default);
        read.ExitCode.Should().NotBe(0);
        read.Stderr.Should().Contain("Permission denied");
    }

    [Fact]
    public async Task Two_pods_listen_on_the_same_port_and_a_third_reaches_each_through_its_Service_name()
    {
        var ns = await fixture.CreateNamespaceAsync("node-services");
        foreach (var name in new[] { "alpha", "beta" })
        {
            var pod = HttpServerPod(name, 8000);
            // Each serves a file naming itself.
            pod.Spec.Containers[0].Command = ["sh", "-c", $"mkdir -p /tmp/{name}-root && echo {name} > /tmp/{name}-root/who && cd /tmp/{name}-root && exec python3 -m http.server 8000"];
            await Client.CoreV1.CreateNamespacedPodAsync(pod, ns);
            await Client.CoreV1.CreateNamespacedServiceAsync(new V1Service
            {
                Metadata = new V1ObjectMeta { Name = name },
                Spec = new V1ServiceSpec { Selector = new Dictionary<string, string> { ["app"] = name }, Ports = [new V1ServicePort { Name = "http", Port = 80, TargetPort = 8000 }] },
            }, ns);
        }
        var client = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "client" },
            Spec = new V1PodSpec { TerminationGracePeriodSeconds = 1, Containers = [new V1Container { Name = "main", Image = "curl", Command = ["sleep", "600"] }] },
        };
        await Client.CoreV1.CreateNamespacedPodAsync(client, ns);
        foreach (var name in new[] { "alpha", "beta", "client" }) await Pods.WaitAsync(Client, ns, name, Pods.IsReady, Patience, "Ready");
        foreach (var (name, host) in new[] { ("alpha", "alpha"), ("beta", $"beta.{ns}"), ("alpha", $"alpha.{ns}.svc"), ("beta", $"beta.{ns}.svc.cluster.local") })
        {
            string answer = "";
            await Eventually.TrueAsync(async () =>
            {
                answer = await ExecAsync(ns, "client", "curl", "-sS", "--max-time", "5", $"http://{host}/who");
                return answer.Trim() == name;
            }, TimeSpan.FromSeconds(30), $"{host} answers as {name} (last: {answer})");
        }
    }

    [Fact]
    public async Task A_projected_service_account_token_allows_what_its_RBAC_allows_and_nothing_else()
    {
        var ns = await fixture.CreateNamespaceAsync("node-rbac");
        await Client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = "lister" } }, ns);
        await Client.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role
        {
            Metadata = new V1ObjectMeta { Name = "list-configmaps" },
            Rules = [new V1PolicyRule { ApiGroups = [""], Resources = ["configmaps"], Verbs = ["list"] }],
        }, ns);
        await Client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = "lister" },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = "list-configmaps" },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = "lister", NamespaceProperty = ns }],
        }, ns);
        await Eventually.TrueAsync(async () => (await Client.CoreV1.ListNamespacedConfigMapAsync(ns)).Items.Any(c => c.Metadata.Name == "kube-root-ca.crt"),
            TimeSpan.FromSeconds(30), "kube-root-ca.crt published");
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "api-client" },
            Spec = new V1PodSpec
            {
                TerminationGracePeriodSeconds = 1,
                ServiceAccountName = "lister",
                AutomountServiceAccountToken = false,
                Containers = [new V1Container { Name = "main", Image = "curl", Command = ["sleep", "600"], VolumeMounts = [new V1VolumeMount { Name = "token", MountPath = "/var/run/secrets/tokens" }] }],
                Volumes =
                [
                    new V1Volume
                    {
                        Name = "token",
                        Projected = new V1ProjectedVolumeSource
                        {
                            Sources =
                            [
                                new V1VolumeProjection { ServiceAccountToken = new V1ServiceAccountTokenProjection { Path = "token", ExpirationSeconds = 3600 } },
                                new V1VolumeProjection { ConfigMap = new V1ConfigMapProjection { Name = "kube-root-ca.crt", Items = [new V1KeyToPath { Key = "ca.crt", Path = "ca.crt" }] } },
                                new V1VolumeProjection { DownwardAPI = new V1DownwardAPIProjection { Items = [new V1DownwardAPIVolumeFile { Path = "namespace", FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.namespace" } }] } },
                            ],
                        },
                    },
                ],
            },
        };
        await Client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        await Pods.WaitAsync(Client, ns, "api-client", Pods.IsReady, Patience, "Ready");
        (await ExecAsync(ns, "api-client", "cat", "/var/run/secrets/tokens/namespace")).Should().Be(ns);
        string Curl(string path) =>
            $"curl -sS -o /dev/null -w '%{{http_code}}' --cacert /var/run/secrets/tokens/ca.crt -H \"Authorization: Bearer $(cat /var/run/secrets/tokens/token)\" https://kubernetes.default.svc{path}";
        // The API server is reached through the kubernetes Service, its certificate verified with the projected CA.
        (await ExecAsync(ns, "api-client", "sh", "-c", Curl($"/api/v1/namespaces/{ns}/configmaps"))).Should().Be("200");
        (await ExecAsync(ns, "api-client", "sh", "-c", Curl($"/api/v1/namespaces/{ns}/secrets"))).Should().Be("403");
        (await ExecAsync(ns, "api-client", "sh", "-c", "curl -sS -o /dev/null -w '%{http_code}' --cacert /var/run/secrets/tokens/ca.crt -H \"Authorization: Bearer $(cat /var/run/secrets/tokens/token)\" https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/" + ns + "/configmaps"))
            .Should().Be("200");
    }

    [Fact]
    public async Task A_container_whose_program_is_not_on_this_machine_waits_with_the_reason_and_is_never_ready()
    {
        var ns = await fixture.CreateNamespaceAsync("node-missing");
        var pod = new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = "triton" },
            Spec = new V1PodSpec { Containers = [new V1Container { Name = "server", Image = "nvcr.io/nvidia/tritonserver:24.01-py3", Command = ["tritonserver", "--model-repository=/models"] }] },
        };
        await Client.CoreV1.CreateNamespacedPodAsync(pod, ns);
        var waiting = await Pods.WaitAsync(Client, ns, "triton", p => p.Status?.ContainerStatuses?.FirstOrDefault()?.State?.Waiting?.Reason == "ImageNotRunnableHere", Patience, "ImageNotRunnableHere");
        waiting.Status.ContainerStatuses[0].State.Waiting.Message.Should().Contain("tritonserver");
        await Task.Delay(3000);
        var later = await Client.CoreV1.ReadNamespacedPodAsync("triton", ns);
        Pods.IsReady(later).Should().BeFalse();
        later.Status.Phase.Should().Be("Pending");
        later.Status.ContainerStatuses[0].Ready.Should().BeFalse();
    }

    private async Task<string> ExecAsync(string ns, string pod, params string[] command)
    {
        var result = await fixture.Cluster.Node.ExecAsync(ns, pod, null, command, TimeSpan.FromSeconds(20), default);
        result.ExitCode.Should().Be(0, $"`{string.Join(' ', command)}` should succeed in {pod}: {result.Stderr}");
        return result.Stdout;
    }

    private static bool ProcessTable(int pid) => File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);
}

/// <summary>What a crashed run leaves in a slot is cleared by whoever claims the slot next.</summary>
[Collection(LocalClusterCollection.Name)]
public sealed class NodeSlotRecoveryTests
{
    [Fact]
    public async Task Claiming_a_slot_clears_the_processes_namespaces_and_mount_points_a_crashed_run_left()
    {
        var log = Serilog.Core.Logger.None;
        var slot = await AnalysisFacility.LocalCluster.Node.NodeSlot.ClaimAsync(log, default);
        var index = slot.Index;
        // What a run killed with -9 leaves: a container process, a pod network namespace, a mount point it made.
        var netns = slot.NetnsPrefix + "deadbeef";
        (await AnalysisFacility.LocalCluster.Node.HostCommands.TryRunAsync("ip", ["netns", "add", netns])).ExitCode.Should().Be(0);
        using var orphan = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/usr/bin/setsid", ["sleep", "600"]) { UseShellExecute = false })!;
        // As the node records a container only once it leads its own session: wait until setsid has run (under load the
        // child may not have got that far, and a session that does not exist yet cannot be killed).
        await Eventually.TrueAsync(() => Task.FromResult(SessionOf(orphan.Id) == orphan.Id), TimeSpan.FromSeconds(10), "the orphan leads its own session");
        slot.RecordLine(slot.ProcessesFile, $"{orphan.Id} {AnalysisFacility.LocalCluster.Node.ProcessTable.StartTime(orphan.Id)}");
        var mountPoint = $"/tmp/af-slot-test-{Guid.NewGuid():N}";
        slot.RecordLine(slot.CreatedPathsFile, mountPoint);
        Directory.CreateDirectory(mountPoint);
        slot.Dispose(); // the lock goes as it does when the process dies; nothing was cleaned

        using var next = await AnalysisFacility.LocalCluster.Node.NodeSlot.ClaimAsync(log, default);
        next.Index.Should().Be(index, "the lowest free slot is the one just released");
        orphan.WaitForExit(5000).Should().BeTrue("the recorded container process is killed");
        Directory.Exists($"/run/netns/{netns}").Should().BeFalse();
        Directory.Exists(mountPoint).Should().BeFalse();
        await next.ClearLeftoversAsync(log, default);
    }

    /// <summary>The session id of a process (the fourth field after the command name in /proc/PID/stat).</summary>
    private static int? SessionOf(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return int.TryParse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[3], out var session) ? session : null;
    }
}
