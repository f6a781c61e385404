using AnalysisFacility.Operator.Controllers.Facility;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Certificates;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Controllers.Dask;
using AnalysisFacility.Operator.IntegrationTests.Support;
using AnalysisFacility.Operator.Runtime.Apply;
using AnalysisFacility.Operator.Runtime.Client;
using k8s;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.IntegrationTests.DaskController;

/// <summary>Objects the Dask and XCache controller tests share: a facility, its CA Secret, typed reads and event lookups.</summary>
internal static class ControllerTestKit
{
    public const string FacilityName = "cms-af";
    public const string Domain = "coffea.casa";

    public static async Task CreateFacilityAsync(KubernetesApi api, string ns, int maxWorkers = 5, bool withCa = true)
    {
        var facility = new FacilityResource
        {
            Metadata = new V1ObjectMeta { Name = FacilityName, NamespaceProperty = ns },
            Spec = new AnalysisFacilitySpec
            {
                Domain = Domain,
                Tokens = new TokenIssuerSpec { Issuer = "https://af.example.org/issuer", Audiences = ["https://xcache.example.org"] },
                Dask = new DaskDefaults { MaxWorkersPerCluster = maxWorkers, WorkerCores = "1", WorkerMemory = "1Gi" },
            },
        };
        await CreateAsync(api, facility);
        if (withCa) await CreateCaAsync(api, ns);
    }

    /// <summary>What the facility controller keeps: the CA as PEM under tls.crt/tls.key, labelled as managed.</summary>
    public static async Task CreateCaAsync(KubernetesApi api, string ns)
    {
        var data = FacilityCertificateAuthority.Ensure(null, FacilityName, DateTimeOffset.UtcNow).Data;
        await CreateAsync(api, new V1Secret
        {
            ApiVersion = "v1", Kind = "Secret", Type = "kubernetes.io/tls",
            Metadata = new V1ObjectMeta
            {
                Name = FacilitySecrets.CaSecretName(FacilityName), NamespaceProperty = ns,
                Labels = Labels.For("analysisfacility", FacilityName, "ca", FacilityName),
            },
            Data = data,
        });
    }

    public static async Task CreateAsync<T>(KubernetesApi api, T obj) where T : IKubernetesObject<V1ObjectMeta>
    {
        var type = api.Types.For(obj.GetType());
        await api.CreateAsync(type, ApiJson.ToNode(obj), CancellationToken.None);
    }

    public static async Task<T?> GetAsync<T>(KubernetesApi api, string ns, string name) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var live = await api.GetAsync(api.Types.For<T>(), ns, name, CancellationToken.None);
        return live is null ? null : ApiJson.Decode<T>(live.ToJsonString());
    }

    public static Task PatchSpecAsync<T>(KubernetesApi api, string ns, string name, JsonObject spec) where T : class, IKubernetesObject<V1ObjectMeta> =>
        api.PatchAsync(api.Types.For<T>(), ns, name, new JsonObject { ["spec"] = spec }.ToJsonString(), KubernetesApi.MergePatch, CancellationToken.None);

    public static async Task<IReadOnlyList<Corev1Event>> EventsAsync(KubernetesApi api, string ns, string involvedName)
    {
        var page = await api.ListAsync(api.Types.For<Corev1Event>(), ns, null, 500, null, CancellationToken.None);
        return page.Items.Select(item => KubernetesJson.Deserialize<Corev1Event>(item.ToJsonString()))
            .Where(e => e.InvolvedObject?.Name == involvedName).ToList();
    }

    public static Condition? Condition(IEnumerable<Condition>? conditions, string type) => Conditions.Find(conditions, type);
}
