using AnalysisFacility.Operator.Controllers.Facility;
using System.Text;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.Sessions;
using AnalysisFacility.Operator.Builders.Tokens;
using AnalysisFacility.Operator.Controllers.Sessions;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.Runtime.Apply;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Tokens.Issuance;
using AnalysisFacility.Operator.Tokens.Keys;
using Base64Url = AnalysisFacility.Operator.Tokens.Jose.Base64Url;
using k8s;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.IntegrationTests.SessionController;

/// <summary>
/// A facility in a fresh namespace with a user-store mapping, its store PVC, and the issuer key Secret written
/// exactly as the facility controller writes it (KeyRingSecret layout, <c>&lt;facility&gt;-issuer-keys</c>).
/// </summary>
internal sealed class SessionTestBed(ControlPlaneFixture fixture, string ns, FacilityResource facility)
{
    public const string FacilityName = "cms-af";
    public const string MappedUser = "alice";
    public const string MappedStore = "alice-store";

    public string Namespace => ns;
    public FacilityResource Facility => facility;
    public KubernetesApi Api => fixture.Api;

    public static async Task<SessionTestBed> CreateAsync(ControlPlaneFixture fixture, string prefix, bool withKeys = true,
        Action<AnalysisFacilitySpec>? edit = null)
    {
        var ns = await fixture.CreateNamespaceAsync(prefix);
        var spec = new AnalysisFacilitySpec
        {
            Tokens = new TokenIssuerSpec { Issuer = "https://issuer.test.example/af", Lifetime = "15m", Audiences = ["https://xcache.test.example"] },
            UserStore = new UserStoreSpec
            {
                Enabled = true, ClaimName = "user-store", MountPath = "/mnt/data",
                Users = [new StoreUserMapping { User = MappedUser, StoreName = MappedStore }],
            },
        };
        edit?.Invoke(spec);
        var desired = new FacilityResource { Metadata = new V1ObjectMeta { Name = FacilityName, NamespaceProperty = ns }, Spec = spec };
        var created = await fixture.Api.CreateAsync(fixture.Api.Types.For<FacilityResource>(), ApiJson.ToNode(desired), CancellationToken.None);
        var facility = ApiJson.Decode<FacilityResource>(created.ToJsonString());

        // The store claim exists before any session (the facility controller makes it, retained, without owner).
        var pvc = new V1PersistentVolumeClaim
        {
            ApiVersion = "v1", Kind = "PersistentVolumeClaim",
            Metadata = new V1ObjectMeta { Name = "user-store", NamespaceProperty = ns },
            Spec = new V1PersistentVolumeClaimSpec
            {
                AccessModes = ["ReadWriteMany"],
                Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1Gi") } },
            },
        };
        await fixture.Api.CreateAsync(fixture.Api.Types.For<V1PersistentVolumeClaim>(), ApiJson.ToNode(pvc), CancellationToken.None);
        var bed = new SessionTestBed(fixture, ns, facility);
        if (withKeys) await bed.CreateKeySecretAsync();
        return bed;
    }

    public IssuerSettings Settings => IssuerSettings.FromSpec(facility.Spec.Tokens, facility.Metadata.Uid,
        Builders.Facility.HTCondorBuilder.IssuerAudiences(facility)).ValueOrThrow();

    public KeyRing? Ring { get; private set; }

    /// <summary>As the facility controller: a ring with one active key, in a managed Secret owned by the facility.</summary>
    public async Task CreateKeySecretAsync()
    {
        Ring = KeyRing.Empty.Rotate(DateTimeOffset.UtcNow.AddMinutes(-30), Settings.Rotation).Ring;
        var secret = new V1Secret
        {
            ApiVersion = "v1", Kind = "Secret", Type = "Opaque",
            Metadata = new V1ObjectMeta
            {
                Name = FacilitySecrets.IssuerKeysSecretName(FacilityName), NamespaceProperty = ns,
                Labels = Labels.For("analysisfacility", FacilityName, "tokens", FacilityName),
            },
            Data = KeyRingSecret.ToSecretData(Ring),
        };
        Applier.SetControllerReference(secret, facility);
        await Api.CreateAsync(Api.Types.For<V1Secret>(), ApiJson.ToNode(secret), CancellationToken.None);
    }

    public async Task<UserSession> CreateSessionAsync(string user, Action<UserSessionSpec>? edit = null, string? facilityRef = null)
    {
        var session = new UserSession
        {
            Metadata = new V1ObjectMeta { Name = SessionNames.ForUser(user), NamespaceProperty = ns },
            Spec = new UserSessionSpec { FacilityRef = facilityRef ?? FacilityName, User = new SessionUser { Name = user, Groups = ["/cms"] } },
        };
        edit?.Invoke(session.Spec);
        var created = await Api.CreateAsync(Api.Types.For<UserSession>(), ApiJson.ToNode(session), CancellationToken.None);
        return ApiJson.Decode<UserSession>(created.ToJsonString());
    }

    public async Task<T?> GetAsync<T>(string name) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var json = await Api.GetAsync(Api.Types.For<T>(), ns, name, CancellationToken.None);
        return json is null ? null : ApiJson.Decode<T>(json.ToJsonString());
    }

    public static string PodName(string user) => SessionNames.Server(SessionNames.ForUser(user));
    public static string TokenSecretName(string user) => TokenDelivery.SecretName(FacilityName, user);

    public async Task<string?> TokenAsync(string user)
    {
        var secret = await GetAsync<V1Secret>(TokenSecretName(user));
        return secret?.Data?.TryGetValue(TokenDelivery.TokenKey, out var bytes) == true ? Encoding.ASCII.GetString(bytes) : null;
    }

    public Task<UserSession?> SessionAsync(string user) => GetAsync<UserSession>(SessionNames.ForUser(user));

    public static Condition? ConditionOf(UserSession? session, string type) => session?.Status?.Conditions?.FirstOrDefault(c => c.Type == type);

    /// <summary>Header and payload of a compact JWS.</summary>
    public static (JsonObject Header, JsonObject Payload) Decode(string token)
    {
        var parts = token.Split('.');
        parts.Should().HaveCount(3);
        return (JsonNode.Parse(Base64Url.Decode(parts[0]))!.AsObject(), JsonNode.Parse(Base64Url.Decode(parts[1]))!.AsObject());
    }
}
