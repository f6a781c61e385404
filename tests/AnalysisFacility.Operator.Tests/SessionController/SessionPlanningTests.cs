using AnalysisFacility.Operator.Builders.Common;
using System.Text;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Facility;
using AnalysisFacility.Operator.Builders.Sessions;
using AnalysisFacility.Operator.Builders.Tokens;
using AnalysisFacility.Operator.Controllers;
using AnalysisFacility.Operator.Controllers.Sessions;
using AnalysisFacility.Operator.Tokens.Issuance;
using AnalysisFacility.Operator.Tokens.Keys;
using AnalysisFacility.Operator.Runtime.Apply;
using AnalysisFacility.Operator.Runtime.Cache;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Tests.SessionController;

public class SessionPlanningTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    private static FacilityResource Facility(Action<AnalysisFacilitySpec>? edit = null)
    {
        var spec = new AnalysisFacilitySpec
        {
            Tokens = new TokenIssuerSpec { Issuer = "https://issuer.example.org/af", Lifetime = "15m", Audiences = ["https://xcache.example.org"] },
            UserStore = new UserStoreSpec { Enabled = true, Users = [new StoreUserMapping { User = "alice", StoreName = "alice-store" }] },
        };
        edit?.Invoke(spec);
        return new FacilityResource { Metadata = new V1ObjectMeta { Name = "cms-af", NamespaceProperty = "cms", Uid = Guid.NewGuid().ToString() }, Spec = spec };
    }

    private static UserSession Session(string user, Action<UserSessionSpec>? edit = null)
    {
        var session = new UserSession
        {
            Metadata = new V1ObjectMeta { Name = SessionNames.ForUser(user), NamespaceProperty = "cms", Uid = Guid.NewGuid().ToString(), CreationTimestamp = Now.UtcDateTime },
            Spec = new UserSessionSpec { FacilityRef = "cms-af", User = new SessionUser { Name = user, Groups = ["/cms"] } },
        };
        edit?.Invoke(session.Spec);
        return session;
    }

    [Fact]
    public void Mapped_user_gets_the_store_directory_and_unmapped_user_the_nobody_scopes()
    {
        var facility = Facility();
        var mapped = SessionPlanning.Plan(Session("alice"), facility, null);
        mapped.StoreName.Should().Be("alice-store");
        mapped.TokenStoreName.Should().Be("alice-store");
        mapped.Build.Objects!.Store.Should().Be(new SessionStorePlacement(true, "alice-store", false));

        var unmapped = SessionPlanning.Plan(Session("carol"), facility, null);
        unmapped.StoreName.Should().BeNull();
        unmapped.TokenStoreName.Should().Be("nobody");
        unmapped.Build.Objects!.Store.Should().Be(new SessionStorePlacement(true, "nobody", true));
    }

    [Fact]
    public void A_session_that_says_nothing_about_Dask_gets_the_facility_default_and_its_own_spec_wins()
    {
        var facility = Facility(f => f.Dask.Sessions = new SessionDask { Minimum = 1, Maximum = 5 });

        var hubSession = SessionPlanning.Plan(Session("alice"), facility, null);
        hubSession.Dask.Should().NotBeNull("a hub login's session has no spec.dask, and the facility gives each session a cluster");
        hubSession.Dask!.Spec.Adaptive!.Minimum.Should().Be(1);
        hubSession.DaskSchedulerAddress.Should().NotBeNullOrEmpty();

        SessionPlanning.Plan(Session("alice", s => s.Dask = new SessionDask { Enabled = false }), facility, null).Dask
            .Should().BeNull("the session's own choice wins over the facility default");
        SessionPlanning.Plan(Session("alice"), Facility(), null).Dask.Should().BeNull("no facility default: no cluster");
    }

    [Fact]
    public void Every_object_is_owned_by_the_session_and_the_pod_gets_the_token_delivery()
    {
        var session = Session("alice");
        var facility = Facility(f => f.Hub.Authentication = new HubAuthentication { Type = "dummy" });
        var plan = SessionPlanning.Plan(session, facility, null);
        // Owner references are the applier's (the reconciler applies every object owned by the session); render shows them.
        plan.Build.Objects!.All().Should().OnlyContain(o => o.Metadata.OwnerReferences == null || o.Metadata.OwnerReferences.Count == 0);
        SessionRendering.Render(session, new RenderSet { Facilities = [facility], Sessions = [session] }, new OperatorSettings())
            .Should().OnlyContain(o => o.Metadata.OwnerReferences.Single().Uid == session.Metadata.Uid);
        var pod = plan.Build.Objects.Pod;
        pod.Spec.InitContainers.Select(c => c.Name).Should().Equal(TokenDelivery.InitContainerName, SessionStoreWait.InitContainerName);
        pod.Spec.Volumes.Should().Contain(v => v.Secret != null && v.Secret.SecretName == TokenDelivery.SecretName("cms-af", "alice"));
        pod.Spec.Containers.Single(c => c.Name == SessionBuilder.NotebookContainer).Env.Should().Contain(e => e.Name == "BEARER_TOKEN_FILE");
        plan.Build.Objects.ClientConfig.Data["_condor_SCITOKENS_FILE"].Should().Be(TokenDelivery.TokenFile(facilityRunAsUser));
    }

    private const long facilityRunAsUser = 1000;

    [Theory]
    [InlineData("facility")]
    [InlineData("experiment")]
    public void With_an_identity_provider_login_the_pod_has_both_tokens_and_HTCondor_always_the_facility_one(string sessionToken)
    {
        var facility = Facility(f => f.Tokens.SessionToken = sessionToken); // hub authentication oauth, the default
        var plan = SessionPlanning.Plan(Session("alice"), facility, null);
        var pod = plan.Build.Objects!.Pod;
        var sources = pod.Spec.Volumes.Single(v => v.Projected is not null).Projected.Sources;
        sources.Select(s => (s.Secret.Name, s.Secret.Optional == true)).Should().Equal(
            (TokenDelivery.SecretName("cms-af", "alice"), false),
            (ExperimentTokenSecret.Name("cms-af", "alice"), true)); // a session without a login's token still starts
        var env = pod.Spec.Containers.Single(c => c.Name == SessionBuilder.NotebookContainer).Env.ToDictionary(e => e.Name, e => e.Value);
        var experimentIsSessionToken = sessionToken == "experiment";
        var facilityFile = experimentIsSessionToken ? TokenDelivery.FacilityTokenFile(facilityRunAsUser) : TokenDelivery.TokenFile(facilityRunAsUser);
        var experimentFile = experimentIsSessionToken ? TokenDelivery.TokenFile(facilityRunAsUser) : TokenDelivery.ExperimentTokenFile(facilityRunAsUser);
        env["BEARER_TOKEN_FILE"].Should().Be(TokenDelivery.TokenFile(facilityRunAsUser), "discovery's own file holds the session token");
        env[TokenDelivery.FacilityTokenVariable].Should().Be(facilityFile);
        env[TokenDelivery.ExperimentTokenVariable].Should().Be(experimentFile);
        env["_condor_SCITOKENS_FILE"].Should().Be(facilityFile, "the schedd trusts the facility's issuer");
        plan.Build.Objects.ClientConfig.Data["_condor_SCITOKENS_FILE"].Should().Be(facilityFile);
        var helper = pod.Spec.InitContainers.Single(c => c.Name == TokenDelivery.InitContainerName).Env.ToDictionary(e => e.Name, e => e.Value);
        (helper["DEST"], helper["DEST2"], helper["LINK_TO"]).Should().Be((facilityFile, experimentFile, TokenDelivery.TokenFile(facilityRunAsUser)));
    }

    [Fact]
    public void Without_an_identity_provider_login_there_is_no_experiment_token_and_choosing_it_is_an_error()
    {
        var dummy = Facility(f => f.Hub.Authentication = new HubAuthentication { Type = "dummy" });
        var env = SessionPlanning.Plan(Session("alice"), dummy, null).Build.Objects!.Pod.Spec.Containers.Single(c => c.Name == SessionBuilder.NotebookContainer).Env;
        env.Should().NotContain(e => e.Name == TokenDelivery.ExperimentTokenVariable);
        HubBuilder.Validate(Facility(f =>
        {
            f.Hub.Authentication = new HubAuthentication { Type = "dummy" };
            f.Tokens.SessionToken = "experiment";
        }).Spec).Should().ContainSingle(e => e.Contains("sessionToken 'experiment'") && e.Contains("oauth"));
    }

    [Fact]
    public void Client_configuration_comes_from_the_facility_spec_before_any_status_is_written()
    {
        var facility = Facility(s =>
        {
            s.XCache = new XCacheReference { Name = "xcache" };
            s.Mlflow.Enabled = true;
        });
        facility.Status.Endpoints.Collector.Should().BeNull("the facility has not reported anything yet");

        var data = SessionPlanning.Plan(Session("alice"), facility, null).Build.Objects!.ClientConfig.Data;

        data["_condor_COLLECTOR_HOST"].Should().EndWith(".cms.svc:9618");
        data["XCACHE_ENDPOINT"].Should().Be("root://xcache-xcache.cms.svc:1094");
        data.Should().ContainKey("MLFLOW_TRACKING_URI");
    }

    [Fact]
    public void A_facility_status_write_never_changes_the_pod()
    {
        var facility = Facility();
        var session = Session("alice");
        var before = SessionPlanning.Plan(session, facility, null).Build.Objects!.Pod;
        facility.Status = new AnalysisFacilityStatus
        {
            Phase = "Ready",
            Endpoints = new FacilityEndpoints { Collector = "elsewhere:9618", Mlflow = "http://other:5000", XCache = "root://other:1094" },
        };
        var after = SessionPlanning.Plan(session, facility, null).Build.Objects!.Pod;

        Applier.Hash(after, ApiJson.Options).Should().Be(Applier.Hash(before, ApiJson.Options));
    }

    [Fact]
    public void The_pod_tells_apart_changes_of_the_session_from_changes_of_the_facility()
    {
        static string? Annotation(V1Pod pod, string name) => pod.Metadata.Annotations.TryGetValue(name, out var v) ? v : null;
        static UserSession Alice(Action<UserSessionSpec>? edit = null)
        {
            var s = Session("alice", edit);
            s.Metadata.Uid = "uid-alice"; // the same session, edited
            return s;
        }
        var session = Alice();
        var pod = SessionPlanning.Plan(session, Facility(), null).Build.Objects!.Pod;

        // The admin enables MLflow: the environment the server starts with changes, the session's own choices do not.
        var facilityEdit = SessionPlanning.Plan(session, Facility(s => s.Mlflow.Enabled = true), null).Build.Objects!.Pod;
        Applier.Hash(facilityEdit, ApiJson.Options).Should().NotBe(Applier.Hash(pod, ApiJson.Options));
        Annotation(facilityEdit, SessionBuilder.SessionSpecHashAnnotation).Should().Be(Annotation(pod, SessionBuilder.SessionSpecHashAnnotation));
        Annotation(facilityEdit, SessionBuilder.ClientEnvironmentHashAnnotation).Should().NotBe(Annotation(pod, SessionBuilder.ClientEnvironmentHashAnnotation));

        // The user asks for more memory: the session's hash changes.
        var sessionEdit = SessionPlanning.Plan(Alice(s => s.Memory = "16Gi"), Facility(), null).Build.Objects!.Pod;
        Annotation(sessionEdit, SessionBuilder.SessionSpecHashAnnotation).Should().NotBe(Annotation(pod, SessionBuilder.SessionSpecHashAnnotation));

        // Groups, ttl and Dask never reach the pod: the same pod, not even a new hash.
        var unrelated = SessionPlanning.Plan(Alice(s => { s.Ttl = "2h"; s.User.Groups = ["/cms", "/cms/higgs"]; }), Facility(), null).Build.Objects!.Pod;
        Applier.Hash(unrelated, ApiJson.Options).Should().Be(Applier.Hash(pod, ApiJson.Options));
    }

    [Fact]
    public void Dask_cluster_is_capped_by_the_facility_and_its_address_predicted_until_reported()
    {
        var facility = Facility(s => s.Dask.MaxWorkersPerCluster = 5);
        var session = Session("alice", s => s.Dask = new SessionDask { Enabled = true, Minimum = 8, Maximum = 20 });
        var plan = SessionPlanning.Plan(session, facility, null);
        plan.Dask!.Spec.Adaptive!.Maximum.Should().Be(5);
        plan.Dask.Spec.Adaptive.Minimum.Should().Be(5);
        plan.Dask.Spec.User.Should().Be("alice");
        plan.DaskSchedulerAddress.Should().Be($"tls://{SessionNames.DaskCluster(session.Metadata.Name)}-scheduler.cms.svc.cluster.local:8786");

        var observed = new DaskCluster { Status = new DaskClusterStatus { SchedulerAddress = "tls://elsewhere:8786" } };
        SessionPlanning.Plan(session, facility, observed).DaskSchedulerAddress.Should().Be("tls://elsewhere:8786");
        SessionPlanning.Plan(Session("alice"), facility, null).Dask.Should().BeNull();
    }

    [Fact]
    public void The_request_hash_is_the_one_earlier_operators_wrote_so_an_upgrade_mints_no_token()
    {
        // Operators before the native build hashed this anonymous object through reflection-based JSON; the hash is
        // stored beside every token, and a different one would re-mint every user's token at the upgrade.
        var (_, settings, _, _, request, hash) = TokenSetup();
        var earlier = System.Text.Json.JsonSerializer.Serialize(new
        {
            settings.Issuer, request.UserName, request.StoreName, request.Groups,
            Audiences = settings.Audiences, settings.AllowAnyAudience, Scopes = settings.ScopesFor(request.StoreName, request.Groups),
            Lifetime = settings.Lifetime.TotalSeconds,
        });
        hash.Should().Be(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(earlier)))[..16]);
    }

    /// <summary>Alice's session of a facility with one active key, and her token request.</summary>
    private static (FacilityResource Facility, IssuerSettings Settings, KeyRing Ring, UserSession Session, TokenRequest Request, string Hash) TokenSetup()
    {
        var facility = Facility();
        var settings = IssuerSettings.FromSpec(facility.Spec.Tokens, facility.Metadata.Uid).ValueOrThrow();
        var session = Session("alice");
        var request = SessionPlanning.TokenRequestFor(session, "alice-store");
        return (facility, settings, KeyRing.Empty.Rotate(Now.AddHours(-1), settings.Rotation).Ring, session, request, SessionPlanning.RequestHash(request, settings));
    }

    [Fact]
    public void A_token_secret_describes_its_token_in_annotations_trusted_only_beside_the_data_they_were_written_with()
    {
        var (facility, settings, ring, session, request, hash) = TokenSetup();
        var token = TokenMinter.Mint(settings, ring, request, Now.AddSeconds(0.7)).ValueOrThrow();
        var secret = SessionPlanning.TokenSecret(session, facility, token, hash);
        StoredTokens.IsTokenSecret(secret.Metadata).Should().BeTrue("so the cache leaves its data out");

        // What the cache keeps in place of the data: its digest. The annotations then say what the token itself says.
        var digest = FieldDigest.OfField(secret, "data", ApiJson.Options);
        var described = StoredTokens.FromAnnotations(secret, digest);
        described.Should().Be(SessionPlanning.ReadStoredToken(secret));

        // The data edited by hand (another digest), or no digest at all: the token must be read itself.
        var forged = SessionPlanning.TokenSecret(session, facility, TokenMinter.Mint(settings, ring, request, Now.AddMinutes(-10)).ValueOrThrow(), hash);
        StoredTokens.FromAnnotations(secret, FieldDigest.OfField(forged, "data", ApiJson.Options)).Should().BeNull();
        StoredTokens.FromAnnotations(secret, null).Should().BeNull();
    }

    [Fact]
    public void Stored_token_is_read_back_and_refreshed_only_when_needed()
    {
        var (facility, settings, ring, session, request, hash) = TokenSetup();
        var token = TokenMinter.Mint(settings, ring, request, Now).ValueOrThrow();
        var stored = SessionPlanning.ReadStoredToken(SessionPlanning.TokenSecret(session, facility, token, hash));
        stored.IssuedAt.Should().Be(token.IssuedAt);
        stored.ExpiresAt.Should().Be(token.ExpiresAt);
        stored.KeyId.Should().Be(token.KeyId);
        var published = ring.PublishedKeys.Select(k => k.KeyId).ToList();

        // 15 min lifetime: refresh due 2 min after minting (13 min left; TokenLifetimes' rule).
        TokenRenewalPolicy.Decide(stored, hash, published, Now.AddMinutes(1)).Should().Be(TokenRenewal.Keep);
        TokenRenewalPolicy.Decide(stored, hash, published, Now.AddMinutes(2)).Reason.Should().Be("RefreshDue");
        token.NextRefreshAt.Should().Be(Now.AddMinutes(2));
        // Other request (groups changed), retired key, no token: a new one at once.
        var other = SessionPlanning.RequestHash(request with { Groups = ["/cms", "/cms/higgs"] }, settings);
        TokenRenewalPolicy.Decide(stored, other, published, Now).Reason.Should().Be("RequestChanged");
        TokenRenewalPolicy.Decide(stored, hash, ["another-kid"], Now).Reason.Should().Be("KeyRetired");
        TokenRenewalPolicy.Decide(SessionPlanning.ReadStoredToken(null), hash, published, Now).Reason.Should().Be("NoToken");
        SessionPlanning.ReadStoredToken(new V1Secret { Data = new Dictionary<string, byte[]> { ["token"] = Encoding.ASCII.GetBytes("garbage") } })
            .Present.Should().BeFalse();
    }

    [Fact]
    public void Cull_deadline_is_the_earlier_of_ttl_and_the_facility_max_age()
    {
        SessionPlanning.CullDeadline(Session("alice"), Facility()).Should().BeNull();
        SessionPlanning.CullDeadline(Session("alice", s => s.Ttl = "2h"), Facility()).Should().Be(Now.AddHours(2));
        SessionPlanning.CullDeadline(Session("alice", s => s.Ttl = "2h"), Facility(f => f.Hub.Culling.MaxAge = "1h")).Should().Be(Now.AddHours(1));
        SessionPlanning.CullDeadline(Session("alice"), Facility(f => { f.Hub.Culling.MaxAge = "1h"; f.Hub.Culling.Enabled = false; })).Should().BeNull();
    }

    [Fact]
    public void Render_gives_the_token_placeholder_and_the_builder_objects()
    {
        var session = Session("alice");
        var objects = SessionRendering.Render(session, new RenderSet { Facilities = [Facility()], Sessions = [session] }, new OperatorSettings());
        objects.Select(o => o.Kind).Should().BeEquivalentTo("Secret", "ServiceAccount", "ConfigMap", "NetworkPolicy", "Service", "Pod");
        Encoding.UTF8.GetString(((V1Secret)objects[0]).Data["token"]).Should().Be(SessionRendering.Placeholder);
        SessionRendering.Render(session, new RenderSet(), new OperatorSettings()).Should().BeEmpty();
    }
}
