using AnalysisFacility.Operator.Cli;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.Operator.Runtime.Client;

namespace AnalysisFacility.Operator.Tests.Cli;

public sealed class RenderCommandTests
{
    private static string AllSamples() => string.Join("\n---\n",
        Directory.GetFiles(Path.Combine(RepositoryRoot.Path, "deploy", "samples"), "*.yaml").OrderBy(f => f).Select(File.ReadAllText));

    [Fact]
    public void Render_shows_the_full_facility_and_every_sample_resource_without_a_cluster()
    {
        var output = RenderCommand.Render(AllSamples(), new OperatorSettings());
        var objects = YamlDocuments.Parse(output);
        var kinds = objects.Select(o => o["kind"]!.GetValue<string>()).ToHashSet();
        kinds.Should().Contain(["Deployment", "StatefulSet", "DaemonSet", "Service", "Ingress", "ConfigMap", "Secret",
            "PersistentVolume", "PersistentVolumeClaim", "Pod", "NetworkPolicy", "DaskCluster", "Role", "RoleBinding"]);
        output.Should().Contain("# Source: AnalysisFacility/cms-af").And.Contain("# Source: UserSession/")
            .And.Contain("# Source: DaskCluster/").And.Contain("# Source: XCacheInstance/");
        // HTCondor pool, hub, Triton and the BindFS store all come from the one facility resource.
        objects.Select(o => o["metadata"]!["name"]!.GetValue<string>()).Should().Contain(n => n.Contains("hub"))
            .And.Contain(n => n.Contains("schedd")).And.Contain(n => n.Contains("triton")).And.Contain(n => n.Contains("bindfs"));
    }

    [Fact]
    public void Render_of_an_exposed_pool_with_a_trusted_issuer_shows_the_external_services_the_map_line_and_the_cache_section()
    {
        const string yaml = """
            apiVersion: analysisfacility.io/v1alpha1
            kind: AnalysisFacility
            metadata: {name: infn-af, namespace: af}
            spec:
              tokens:
                issuer: https://af.infn.it/issuer
                audiences: ["https://xcache.af.infn.it"]
                trustedIssuers:
                  - name: cms-iam
                    issuer: https://cms-auth.web.cern.ch/
                    audiences: ["https://xcache.af.infn.it"]
                    mappings: [{subject: 0c2f6a1e-ci, identity: cms-ci}]
              htcondor:
                external: {host: condor.af.infn.it}
            ---
            apiVersion: analysisfacility.io/v1alpha1
            kind: XCacheInstance
            metadata: {name: xcache, namespace: af}
            spec:
              origin: root://xrootd-cms.infn.it:1094
              authorization: {facilityRef: infn-af}
            """;
        var output = RenderCommand.Render(yaml, new OperatorSettings());
        var objects = YamlDocuments.Parse(output);
        var services = objects.Where(o => o["kind"]!.GetValue<string>() == "Service").ToDictionary(o => o["metadata"]!["name"]!.GetValue<string>());
        services["infn-af-condor-cm-external"]["spec"]!["type"]!.GetValue<string>().Should().Be("LoadBalancer");
        services["infn-af-condor-schedd-external"]["spec"]!["ports"]![0]!["port"]!.GetValue<long>().Should().Be(9619);
        output.Should().Contain(@"SCITOKENS ^https\:\/\/cms\-auth\.web\.cern\.ch\/,0c2f6a1e\-ci$ cms-ci@infn-af.af")
            .And.Contain("TCP_FORWARDING_HOST = condor.af.infn.it")
            .And.Contain("SCITOKENS_SERVER_AUDIENCE = infn-af-condor-schedd.af.svc:9619, condor.af.infn.it:9619, https://xcache.af.infn.it")
            .And.Contain("[Issuer trusted-cms-iam]").And.Contain("issuer = https://cms-auth.web.cern.ch/")
            .And.Contain("name: infn-af-condor-ca");
    }

    [Fact]
    public void Render_never_prints_key_material()
    {
        var output = RenderCommand.Render(AllSamples(), new OperatorSettings());
        output.Should().NotContain("PRIVATE KEY").And.NotContain("LS0tLS1CRUdJTi"); // PEM, plain or base64
    }

    [Fact]
    public void Render_refuses_input_without_our_resources_with_a_clear_message()
    {
        var act = () => RenderCommand.Render("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", new OperatorSettings());
        act.Should().Throw<ArgumentException>().WithMessage("*no analysisfacility.io resources*");
    }

    [Fact]
    public void Every_f_is_read_like_kubectl_does_files_directories_and_stdin()
    {
        var render = new RenderCommand();
        var line = render.Command.Parse(["-f", "a.yaml", "--filename", "dir", "-f", "-", "--filename=b.yaml"]);
        line.Errors.Should().BeEmpty();
        render.Sources(line).Should().Equal("a.yaml", "dir", "-", "b.yaml");

        var root = Directory.CreateTempSubdirectory("af-render-").FullName;
        try
        {
            var samples = Path.Combine(RepositoryRoot.Path, "deploy", "samples");
            var sessions = Path.Combine(root, "sessions");
            Directory.CreateDirectory(sessions);
            File.Copy(Path.Combine(samples, "sessions.yaml"), Path.Combine(sessions, "sessions.yaml"));
            File.WriteAllText(Path.Combine(sessions, "notes.txt"), "not a manifest");
            var facility = File.ReadAllText(Path.Combine(samples, "facility.yaml"));
            var xcache = File.ReadAllText(Path.Combine(samples, "xcache.yaml"));

            // The facility from a file, the session from a directory, the cache from stdin: one set, cross references resolve.
            var text = RenderCommand.ReadSources([Path.Combine(samples, "facility.yaml"), sessions, "-"], new StringReader(xcache));
            var output = RenderCommand.Render(text, new OperatorSettings());
            output.Should().Contain("# Source: AnalysisFacility/cms-af").And.Contain("# Source: UserSession/").And.Contain("# Source: XCacheInstance/");
            text.Should().Contain(facility.Trim()).And.NotContain("not a manifest");

            var missing = () => RenderCommand.ReadSources([Path.Combine(root, "nope.yaml")], TextReader.Null);
            missing.Should().Throw<ArgumentException>().WithMessage("*nope.yaml does not exist*");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>
    /// The README's command, run as a user runs it from the repository root: `dotnet run` starts a web-SDK program in
    /// the project folder unless the project says otherwise, and the relative path then named no file.
    /// </summary>
    [Fact]
    public async Task Dotnet_run_from_the_repository_root_resolves_relative_paths_against_the_callers_directory()
    {
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        var start = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            WorkingDirectory = RepositoryRoot.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "run", "--no-build", "-c", configuration, "--project", "src/AnalysisFacility.Operator", "--", "render", "-f", "deploy/samples/facility.yaml" })
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        (await stderr).Should().NotContain("does not exist");
        process.ExitCode.Should().Be(0, await stderr);
        (await stdout).Should().Contain("# Source: AnalysisFacility/cms-af");
    }

    [Fact]
    public void Render_shows_the_token_gateway_of_mlflow_and_servicex_the_rucio_finder_and_cvmfs_in_dask_workers()
    {
        const string yaml = """
            apiVersion: analysisfacility.io/v1alpha1
            kind: AnalysisFacility
            metadata: {name: cms-af, namespace: cmsaf}
            spec:
              tokens:
                issuer: https://cmsaf-jh.unl.edu/issuer
                audiences: ["https://xcache.cmsaf-jh.unl.edu"]
              hub: {authentication: {type: dummy}}
              htcondor: {enabled: false}
              rucio: {enabled: true, host: "https://cms-rucio.cern.ch", authHost: "https://cms-rucio-auth.cern.ch"}
              cvmfs: {enabled: true}
              xcache: {name: cms-xcache}
              serviceX:
                enabled: true
                rucioFinder: {x509Proxy: {secretName: servicex-x509-proxy}, account: cmsaf}
              mlflow:
                enabled: true
                artifactStore: {host: rgw.rook-ceph.svc, bucket: mlflow-artifacts, credentialsSecret: mlflow-bucket}
            ---
            apiVersion: analysisfacility.io/v1alpha1
            kind: DaskCluster
            metadata: {name: alice-dask, namespace: cmsaf}
            spec: {facilityRef: cms-af, user: alice}
            """;
        var output = RenderCommand.Render(yaml, new OperatorSettings());
        var objects = YamlDocuments.Parse(output);
        string Name(System.Text.Json.Nodes.JsonNode o) => o["metadata"]!["name"]!.GetValue<string>();
        var deployments = objects.Where(o => o["kind"]!.GetValue<string>() == "Deployment").ToDictionary(Name);
        IEnumerable<string> Containers(string deployment) =>
            deployments[deployment]["spec"]!["template"]!["spec"]!["containers"]!.AsArray().Select(c => c!["name"]!.GetValue<string>());
        Containers("cms-af-mlflow").Should().Equal("mlflow", "auth-gateway");
        Containers("cms-af-servicex-app").Should().Equal("servicex-app", "auth-gateway");
        deployments.Should().ContainKey("cms-af-servicex-did-finder-rucio");
        output.Should().Contain("OIDCOAuthVerifyJwksUri https://cmsaf-jh.unl.edu/issuer/jwks")
            .And.Contain("auth_type = x509_proxy").And.Contain("account = cmsaf")
            .And.Contain("image: ghcr.io/mlflow/mlflow:v3.9.0-full");
        var workers = deployments["alice-dask-worker"]["spec"]!["template"]!["spec"]!;
        workers["volumes"]!.AsArray().Select(v => v!["name"]!.GetValue<string>()).Should().Contain(["cvmfs", "x509-certificates"]);
    }
}
