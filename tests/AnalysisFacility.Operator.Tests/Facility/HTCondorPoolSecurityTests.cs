using System.Security.Cryptography.X509Certificates;
using System.Text;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Certificates;
using AnalysisFacility.Operator.Builders.Facility;
using AnalysisFacility.Operator.Tokens.Issuance;
using k8s;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Tests.Facility;

/// <summary>
/// The pool's user-facing security, read as HTCondor 24.0 reads it: the map file through <see cref="CondorMapFileReader"/>
/// (MapFile.cpp's rules), every knob by the exact line the daemons parse.
/// </summary>
public sealed class HTCondorPoolSecurityTests
{
    private const string FacilityUid = "3d1c9a57-0e2b-4f7a-8c61-5b2e9f0a7d14";
    private const string Issuer = "https://cmsaf-jh.unl.edu/issuer";
    private const string Iam = "https://cms-auth.web.cern.ch/";
    private const string CiSubject = "b2a7c1f0-3e4d-4f5a-9b8c-7d6e5f4a3b2c";
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);

    private static FacilityResource Facility(bool external = true)
    {
        var facility = new FacilityResource
        {
            Metadata = new V1ObjectMeta { Name = "cms-af", NamespaceProperty = "cmsaf", Uid = FacilityUid },
            Spec = new AnalysisFacilitySpec { Tokens = new TokenIssuerSpec { Issuer = Issuer } },
        };
        facility.Spec.Tokens.TrustedIssuers =
        [
            new TrustedIssuerSpec
            {
                Name = "cms-iam", Issuer = Iam, Audiences = ["https://cmsaf-xcache.unl.edu"], BasePath = "/store",
                Mappings = [new SubjectMapping { Subject = CiSubject, Identity = "cms-ci" }],
            },
        ];
        facility.Spec.Tokens.Robots = [new RobotClientSpec { ClientId = "analysis-ci", Scopes = ["compute.create", "compute.read"], SecretHashRef = new() { Name = "robots", Key = "analysis-ci" } }];
        if (external) facility.Spec.HTCondor.External = new HTCondorExternalSpec { Host = "condor.cmsaf.unl.edu" };
        return facility;
    }

    private static (IDictionary<string, byte[]> Ca, IDictionary<string, byte[]> Tls) Certificates(FacilityResource facility, DateTimeOffset? at = null)
    {
        var ca = FacilityCertificateAuthority.Ensure(null, facility.Metadata.Name, at ?? Now).Data;
        return (ca, HTCondorTls.Ensure(null, ca, facility, at ?? Now).Data);
    }

    private static FacilityContext Context(FacilityResource facility, params string[] users) => new()
    {
        IssuerServiceHost = "analysisfacility-operator.af-system.svc",
        ScitokensIdentities = users.Select(u => new ScitokensIdentity(SubjectIds.For(FacilityUid, u), u)).ToList(),
        CondorTls = Certificates(facility).Tls,
        NewSecretValue = bytes => new string('x', bytes),
    };

    private static Dictionary<string, string> Config(FacilityResource facility, params string[] users) =>
        HTCondorBuilder.GenerateConfig(facility, Context(facility, users));

    /// <summary>The value of a knob as the config parser sees it: the last "NAME = value" line of the file.</summary>
    private static string? Knob(string file, string name) => file.Split('\n')
        .Select(l => l.Trim()).Where(l => l.StartsWith(name + " ", StringComparison.Ordinal) || l.StartsWith(name + "=", StringComparison.Ordinal))
        .Select(l => l[(l.IndexOf('=') + 1)..].Trim()).LastOrDefault();

    [Fact]
    public void Map_file_admits_each_session_user_robot_and_trusted_subject_as_its_own_identity_and_nobody_else()
    {
        var facility = Facility();
        var map = CondorMapFileReader.Parse(Config(facility, "sam.albin@unl.edu", "alice", "a.b")[HTCondorBuilder.MapFileKey]);
        map.Problems.Should().BeEmpty();
        const string domain = "@cms-af.cmsaf";

        // Principals as Condor_Auth_SSL::server_verify_scitoken builds them: iss + "," + sub.
        var sam = $"{Issuer},{SubjectIds.For(FacilityUid, "sam.albin@unl.edu")}";
        map.Map("SCITOKENS", sam).Should().Be(PoolIdentities.ForHubUser("sam.albin@unl.edu") + domain);
        map.Map("SCITOKENS", $"{Issuer},{SubjectIds.For(FacilityUid, "alice")}").Should().Be("alice" + domain);
        map.Map("SCITOKENS", $"{Issuer},analysis-ci").Should().Be("robot-analysis-ci" + domain);
        map.Map("SCITOKENS", $"{Iam},{CiSubject}").Should().Be("cms-ci" + domain);

        // Not admitted: another subject of our issuer, our subjects from another issuer, near misses of the regex.
        map.Map("SCITOKENS", $"{Issuer},{SubjectIds.For(FacilityUid, "mallory")}").Should().BeNull();
        map.Map("SCITOKENS", $"{Issuer},{SubjectIds.For("other-facility", "alice")}").Should().BeNull();
        map.Map("SCITOKENS", $"https://evil.example.org/issuer,{SubjectIds.For(FacilityUid, "alice")}").Should().BeNull();
        map.Map("SCITOKENS", $"https://cmsaf-jhXunl.edu/issuer,{SubjectIds.For(FacilityUid, "alice")}").Should().BeNull("'.' is escaped");
        map.Map("SCITOKENS", $"x{sam}").Should().BeNull("anchored at the start");
        map.Map("SCITOKENS", $"{sam}x").Should().BeNull("anchored at the end");
        map.Map("SCITOKENS", $"{Iam},{CiSubject}", allowExtraSlash: true).Should().Be("cms-ci" + domain);
        map.Map("SCITOKENS", $"{Iam[..^1]},{CiSubject}").Should().BeNull("the IAM issuer is compared with its trailing slash");
        map.Map("SCITOKENS", $"{Iam},analysis-ci").Should().BeNull("a robot id is only ours at our issuer");
        // Local tools keep their name.
        map.Map("FS", "condor").Should().Be("condor");
    }

    [Fact]
    public void The_slash_delimited_lines_of_before_match_nothing_without_hash_keys_which_the_generated_file_leaves_off()
    {
        // The line form the operator wrote before: with CERTIFICATE_MAPFILE_ASSUME_HASH_KEYS False (the default) the
        // slashes are part of the regex, so it never matched. The generated file states that default explicitly.
        var principal = $"{Issuer},7f3c-alice";
        var old = CondorMapFileReader.Parse(@"SCITOKENS /^https\:\/\/cmsaf\-jh\.unl\.edu\/issuer,7f3c\-alice$/ alice@cms-af.cmsaf");
        old.Map("SCITOKENS", principal).Should().BeNull();
        CondorMapFileReader.Parse(@"SCITOKENS /^https\:\/\/cmsaf\-jh\.unl\.edu\/issuer,7f3c\-alice$/ alice@cms-af.cmsaf", assumeHash: true)
            .Map("SCITOKENS", principal).Should().Be("alice@cms-af.cmsaf", "the reader does honour '/.../' when hash keys are assumed");
        var config = Config(Facility());
        Knob(config[HTCondorBuilder.CommonConfigKey], "CERTIFICATE_MAPFILE_ASSUME_HASH_KEYS").Should().Be("False");
        Knob(config[HTCondorBuilder.CommonConfigKey], "CERTIFICATE_MAPFILE").Should().Be(HTCondorBuilder.MapFile);
    }

    [Fact]
    public void Awkward_subjects_are_escaped_so_they_match_only_themselves()
    {
        var subject = "a.b+c*(d)[e]{f}|g?h^i$j\\k\"l#m/n,o";
        var text = CondorMapFile.Generate([new PoolPrincipal(Iam, subject, "cms-ci")], "d");
        var map = CondorMapFileReader.Parse(text);
        map.Problems.Should().BeEmpty();
        map.Map("SCITOKENS", $"{Iam},{subject}").Should().Be("cms-ci@d");
        map.Map("SCITOKENS", $"{Iam},aXb+c*(d)[e]{{f}}|g?h^i$j\\k\"l#m/n,o").Should().BeNull();
        map.Map("SCITOKENS", $"{Iam},a.bbc").Should().BeNull();
        FluentActions.Invoking(() => CondorMapFile.EscapeRegex("two words")).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Hub_users_get_distinct_plain_identities_and_never_a_reserved_one()
    {
        PoolIdentities.ForHubUser("alice").Should().Be("alice");
        PoolIdentities.ForHubUser("a.b-c").Should().Be("a.b-c");
        var names = new[] { "a@b", "a_b", "a+b", "A_b", "condor", "root", "nobody", "condor_pool", "Alice", "alice" };
        var identities = names.Select(PoolIdentities.ForHubUser).ToList();
        identities.Should().OnlyHaveUniqueItems();
        identities.Should().OnlyContain(i => System.Text.RegularExpressions.Regex.IsMatch(i, Patterns.PoolIdentity));
        identities.Should().NotContain(i => PoolIdentities.Reserved.Contains(i));
        PoolIdentities.Check("condor", "f").Should().Contain("reserved");
        PoolIdentities.Check("cms-ci", "f").Should().BeNull();
    }

    [Fact]
    public void Reserved_identities_in_the_spec_are_refused()
    {
        var facility = Facility();
        facility.Spec.Tokens.TrustedIssuers[0].Mappings[0].Identity = "condor";
        facility.Spec.Tokens.Robots[0].Identity = "root";
        HTCondorBuilder.Validate(facility.Spec).Should().HaveCount(2).And.Contain(e => e.Contains("trustedIssuers[0].mappings[0].identity"))
            .And.Contain(e => e.Contains("robots[0].identity"));
    }

    [Fact]
    public void Jobs_run_as_nobody_from_a_schedd_that_is_not_root_and_has_one_super_user()
    {
        var facility = Facility(external: false);
        var config = Config(facility);
        var execute = config[HTCondorBuilder.ExecuteConfigKey];
        Knob(execute, "STARTER_ALLOW_RUNAS_OWNER").Should().Be("False");
        Knob(execute, "NOBODY_SLOT_USER").Should().Be("nobody");
        Knob(execute, "SLOT_USER").Should().BeNull("nothing reads SLOT_USER (jic_shadow.cpp reads SLOT<N>_USER and NOBODY_SLOT_USER)");
        var submit = config[HTCondorBuilder.ScheddConfigKey];
        Knob(submit, "QUEUE_SUPER_USERS").Should().Be("condor");
        Knob(submit, "QUEUE_ALL_USERS_TRUSTED").Should().Be("False");
        Knob(submit, "SCHEDD_NAME").Should().Be("cms-af-condor-schedd@cms-af.cmsaf");

        var objects = HTCondorBuilder.Build(facility, Context(facility)).Objects;
        var schedd = objects.OfType<V1StatefulSet>().Single().Spec.Template.Spec;
        var cm = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "cms-af-condor-cm").Spec.Template.Spec;
        foreach (var pod in new[] { schedd, cm })
        {
            pod.SecurityContext.RunAsUser.Should().Be(HTCondorBuilder.CondorUid);
            pod.SecurityContext.RunAsNonRoot.Should().BeTrue();
            pod.SecurityContext.FsGroup.Should().Be(HTCondorBuilder.CondorUid);
        }
        // The starter must be root to switch to nobody.
        objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "cms-af-condor-execute").Spec.Template.Spec.SecurityContext.Should().BeNull();
        // Token users may write, unmapped tokens may not.
        var common = config[HTCondorBuilder.CommonConfigKey];
        Knob(common, "ALLOW_WRITE").Should().Be("*@$(UID_DOMAIN)");
        Knob(common, "DENY_WRITE").Should().Contain("*@unmapped");
    }

    [Fact]
    public void Pool_key_is_copied_private_for_the_non_root_daemons()
    {
        HTCondorBuilder.MasterScript().Should().StartWith($"install -m 0600 {HTCondorBuilder.PoolKeySourceDirectory}/POOL {HTCondorBuilder.PasswordDirectory}/POOL\n");
        var facility = Facility(external: false);
        var pod = HTCondorBuilder.Build(facility, Context(facility)).Objects.OfType<V1StatefulSet>().Single().Spec.Template.Spec;
        pod.Containers[0].VolumeMounts.Should().Contain(m => m.MountPath == HTCondorBuilder.PoolKeySourceDirectory && m.Name == "pool-password")
            .And.Contain(m => m.MountPath == HTCondorBuilder.PasswordDirectory && m.Name == "passwords");
        pod.Volumes.Single(v => v.Name == "passwords").EmptyDir.Should().NotBeNull();
        Knob(Config(facility)[HTCondorBuilder.CommonConfigKey], "SEC_TOKEN_POOL_SIGNING_KEY_FILE").Should().Be($"{HTCondorBuilder.PasswordDirectory}/POOL");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Collector_and_schedd_serve_a_certificate_from_the_facility_ca_for_the_names_clients_check(bool external)
    {
        var facility = Facility(external);
        var (ca, tls) = Certificates(facility);
        var context = Context(facility) with { CondorTls = tls };
        var config = HTCondorBuilder.GenerateConfig(facility, context);
        var objects = HTCondorBuilder.Build(facility, context).Objects.ToList();
        using var caCertificate = FacilityCertificateAuthority.Load(ca);
        using var certificate = X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(tls["tls.crt"]), Encoding.ASCII.GetString(tls["tls.key"]));
        LeafCertificates.ChainsTo(certificate, caCertificate, Now).Should().BeTrue();
        var sans = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().EnumerateDnsNames().ToList();

        var collectorHost = Knob(config[HTCondorBuilder.CommonConfigKey], "COLLECTOR_HOST")!.Replace("$(CONDOR_HOST)", Knob(config[HTCondorBuilder.CommonConfigKey], "CONDOR_HOST"));
        sans.Should().Contain(collectorHost.Split(':')[0], "a client checks the host of COLLECTOR_HOST");
        foreach (var (key, name) in new[] { (HTCondorBuilder.CentralManagerConfigKey, "cms-af-condor-cm"), (HTCondorBuilder.ScheddConfigKey, "cms-af-condor-schedd") })
        {
            var role = config[key];
            Knob(role, "AUTH_SSL_SERVER_CERTFILE").Should().Be("/etc/condor/ssl/tls.crt");
            Knob(role, "AUTH_SSL_SERVER_KEYFILE").Should().Be("/etc/condor/ssl/tls.key");
            sans.Should().Contain(Knob(role, "HOST_ALIAS"), "a client checks the alias in the daemon's advertised address");
            var pod = objects.OfType<V1Deployment>().Select(d => d.Spec.Template).Concat(objects.OfType<V1StatefulSet>().Select(s => s.Spec.Template))
                .Single(t => t.Metadata.Labels.Values.Contains(name == "cms-af-condor-cm" ? "central-manager" : "schedd")).Spec;
            pod.Containers[0].VolumeMounts.Should().Contain(m => m.MountPath == HTCondorTls.Directory && m.SubPath == null);
            pod.Volumes.Single(v => v.Name == "ssl").Secret.SecretName.Should().Be("cms-af-condor-tls");
        }
        objects.OfType<V1Secret>().Single(s => s.Metadata.Name == "cms-af-condor-tls").Data["tls.crt"].Should().Equal(tls["tls.crt"]);
        objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == "cms-af-condor-ca").Data["ca.crt"]
            .Should().Be(Encoding.ASCII.GetString(FacilityCertificateAuthority.CertificatePem(ca)));
        if (external) sans.Should().Contain("condor.cmsaf.unl.edu");
    }

    [Fact]
    public void Certificate_is_kept_until_its_renewal_window_then_renewed_without_touching_the_pods()
    {
        var facility = Facility();
        var ca = FacilityCertificateAuthority.Ensure(null, "cms-af", Now).Data;
        var first = HTCondorTls.Ensure(null, ca, facility, Now);
        HTCondorTls.Ensure(first.Data, ca, facility, Now.AddDays(1)).Changed.Should().BeFalse();
        first.RenewAt.Should().BeBefore(Now + CertificateLifetimes.Default.LeafLifetime);
        var renewed = HTCondorTls.Ensure(first.Data, ca, facility, first.RenewAt.AddMinutes(1));
        renewed.Changed.Should().BeTrue();
        renewed.Data["tls.crt"].Should().NotEqual(first.Data["tls.crt"]);
        // A new name (the external host) also re-issues.
        var moved = Facility();
        moved.Spec.HTCondor.External!.Host = "pool.cmsaf.unl.edu";
        HTCondorTls.Ensure(first.Data, ca, moved, Now.AddDays(1)).Changed.Should().BeTrue();

        // Renewal changes the Secret only: the workloads are the same objects, so nothing restarts and jobs keep running.
        var before = HTCondorBuilder.Build(facility, Context(facility) with { CondorTls = first.Data }).Objects.Where(o => o is not V1Secret).ToList();
        var after = HTCondorBuilder.Build(facility, Context(facility) with { CondorTls = renewed.Data }).Objects.Where(o => o is not V1Secret).ToList();
        string.Join("\n", after.Select(ApiJson.Serialize)).Should().Be(string.Join("\n", before.Select(ApiJson.Serialize)));
    }

    [Fact]
    public void External_pool_exposes_each_shared_port_at_the_public_host_it_advertises()
    {
        var facility = Facility();
        var config = Config(facility);
        var objects = HTCondorBuilder.Build(facility, Context(facility)).Objects.ToList();
        var collector = objects.OfType<V1Service>().Single(s => s.Metadata.Name == "cms-af-condor-cm-external");
        var schedd = objects.OfType<V1Service>().Single(s => s.Metadata.Name == "cms-af-condor-schedd-external");
        collector.Spec.Type.Should().Be("LoadBalancer");
        collector.Spec.Ports.Single().Port.Should().Be(9618);
        schedd.Spec.Ports.Single().Port.Should().Be(9619);
        Knob(config[HTCondorBuilder.CentralManagerConfigKey], "SHARED_PORT_PORT").Should().Be("9618");
        Knob(config[HTCondorBuilder.ScheddConfigKey], "SHARED_PORT_PORT").Should().Be("9619");
        Knob(config[HTCondorBuilder.CentralManagerConfigKey], "TCP_FORWARDING_HOST").Should().Be("condor.cmsaf.unl.edu");
        Knob(config[HTCondorBuilder.ScheddConfigKey], "TCP_FORWARDING_HOST").Should().Be("condor.cmsaf.unl.edu");
        Knob(config[HTCondorBuilder.CommonConfigKey], "PRIVATE_NETWORK_NAME").Should().Be("cms-af.cmsaf");
        Knob(config[HTCondorBuilder.ExecuteConfigKey], "TCP_FORWARDING_HOST").Should().BeNull("execute nodes are never reached from outside");
        Knob(config[HTCondorBuilder.ScheddConfigKey], "SCITOKENS_SERVER_AUDIENCE")!.Split(", ")
            .Should().Equal("cms-af-condor-schedd.cmsaf.svc:9619", "condor.cmsaf.unl.edu:9619", "https://cmsaf-xcache.unl.edu");
        objects.OfType<V1Service>().Single(s => s.Metadata.Name == "cms-af-condor-schedd").Spec.Ports.Single().Port.Should().Be(9619);

        facility.Spec.HTCondor.External!.ServiceType = "NodePort";
        HTCondorBuilder.Validate(facility.Spec).Should().HaveCount(2).And.OnlyContain(e => e.Contains("node port range"));
        facility.Spec.HTCondor.External.CollectorPort = 30618;
        facility.Spec.HTCondor.External.ScheddPort = 30619;
        HTCondorBuilder.Validate(facility.Spec).Should().BeEmpty();
        var nodePort = HTCondorBuilder.Build(facility, Context(facility)).Objects.OfType<V1Service>().Single(s => s.Metadata.Name == "cms-af-condor-schedd-external");
        nodePort.Spec.Type.Should().Be("NodePort");
        nodePort.Spec.Ports.Single().NodePort.Should().Be(30619);
        Knob(HTCondorBuilder.GenerateConfig(facility, Context(facility))[HTCondorBuilder.ScheddConfigKey], "SHARED_PORT_PORT").Should().Be("30619");
    }

    [Fact]
    public void Without_external_nothing_is_advertised_publicly()
    {
        var facility = Facility(external: false);
        var config = Config(facility);
        Knob(config[HTCondorBuilder.CommonConfigKey], "PRIVATE_NETWORK_NAME").Should().BeNull();
        Knob(config[HTCondorBuilder.ScheddConfigKey], "TCP_FORWARDING_HOST").Should().BeNull();
        Knob(config[HTCondorBuilder.ScheddConfigKey], "HOST_ALIAS").Should().Be("cms-af-condor-schedd.cmsaf.svc");
        HTCondorBuilder.Build(facility, Context(facility)).Objects.OfType<V1Service>().Should().OnlyContain(s => s.Spec.Type == "ClusterIP");
    }
}
