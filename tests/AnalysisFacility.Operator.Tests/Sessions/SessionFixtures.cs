using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Sessions;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Tests.Sessions;

/// <summary>
/// Test double for the token builder's delivery (Builders/Tokens): records what it was given and adds one marker
/// volume, so tests can see the extension point is called exactly once with the right inputs.
/// </summary>
internal sealed class TokenDeliveryDouble : ISessionTokenDelivery
{
    public List<SessionTokenTarget> Calls { get; } = [];
    public string TokenFilePath => "/etc/analysisfacility/token/bt_u1000";
    public string FacilityTokenFilePath => TokenFilePath;

    public void Decorate(SessionTokenTarget target)
    {
        Calls.Add(target);
        target.PodSpec.Volumes.Add(new V1Volume { Name = "token-double", Secret = new V1SecretVolumeSource { SecretName = target.TokenSecretName } });
    }
}

internal static class SessionFixtures
{
    public const string Namespace = "cms";

    public static FacilityResource SampleFacility() => new()
    {
        Metadata = new V1ObjectMeta { Name = "cms-af", NamespaceProperty = Namespace },
        Spec = new AnalysisFacilitySpec
        {
            Tokens = new TokenIssuerSpec { Issuer = "https://issuer.example.org" },
            Hub = new HubSpec
            {
                Profiles =
                [
                    new SessionProfile { Name = "small", Image = "coffeateam/coffea-casa:small", Cores = "1", Memory = "2Gi" },
                    new SessionProfile { Name = "standard", Image = "coffeateam/coffea-casa:std", Cores = "2", Memory = "4Gi", Default = true },
                    new SessionProfile { Name = "gpu", Image = "coffeateam/coffea-casa:gpu", Cores = "4", Memory = "16Gi", Gpus = 1 },
                ],
            },
            UserStore = new UserStoreSpec
            {
                Enabled = true,
                ClaimName = "cms-store",
                MountPath = "/mnt/data",
                Users = [new StoreUserMapping { User = "sam.albin@unl.edu", StoreName = "salbin" }],
            },
            ServiceX = new ServiceXSpec { Enabled = true },
            Triton = new TritonSpec
            {
                Enabled = true,
                ModelRepository = new S3BucketSpec { Host = "rook-ceph-rgw-my-store.rook-ceph.svc", Port = 80, Bucket = "triton-models", CredentialsSecret = "triton-s3" },
            },
            Mlflow = new MlflowSpec { Enabled = true },
        },
    };

    public static UserSession Session(string user = "sam.albin@unl.edu", string? profile = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = SessionNames.ForUser(user), NamespaceProperty = Namespace },
        Spec = new UserSessionSpec
        {
            FacilityRef = "cms-af",
            User = new SessionUser { Name = user, Email = user.Contains('@') ? user : null, Groups = ["/cms"] },
            Profile = profile,
            HubEnvSecretName = SessionNames.ForUser(user) + "-hub-env",
        },
    };

    public static SessionContext Context(string? storeName = "salbin", string? scheduler = null) => new()
    {
        StoreName = storeName,
        TokenSecretName = "token-salbin",
        DaskSchedulerAddress = scheduler,
        Endpoints = new SessionServiceEndpoints
        {
            Collector = "htcondor-cm.cms.svc:9618",
            Schedd = "htcondor-schedd.cms.svc",
            ServiceX = "http://servicex.cms.svc:8000",
            Triton = "http://triton.cms.svc:8000",
            Mlflow = "http://mlflow.cms.svc:5000",
            XCache = "root://xcache.cms.svc:1094",
        },
    };

    public static SessionObjects Build(UserSession? session = null, FacilityResource? facility = null, SessionContext? context = null,
        TokenDeliveryDouble? tokens = null)
    {
        var result = new SessionBuilder(tokens ?? new TokenDeliveryDouble())
            .Build(session ?? Session(), facility ?? SampleFacility(), context ?? Context());
        result.Errors.Should().BeEmpty();
        return result.Objects!;
    }
}
