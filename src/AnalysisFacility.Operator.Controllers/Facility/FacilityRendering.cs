using System.Text;
using AnalysisFacility.Operator.Builders.Certificates;
using AnalysisFacility.Operator.Tokens.Keys;
using k8s;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Controllers.Facility;

/// <summary>What `render -f` shows for a facility: the objects the controller would apply, with placeholders for cluster-only data.</summary>
public static class FacilityRendering
{
    public const string Placeholder = "<generated in the cluster>";
    private const string PlaceholderUid = "00000000-0000-0000-0000-000000000000";

    public static IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Render(FacilityResource facility, RenderSet set, OperatorSettings settings)
    {
        var uid = string.IsNullOrEmpty(facility.Metadata.Uid) ? PlaceholderUid : facility.Metadata.Uid;
        var identities = FacilityPlanning.Identities(facility, set.Sessions, uid);
        var placeholder = Encoding.UTF8.GetBytes(Placeholder);
        var context = FacilityPlanning.Context(facility, settings, identities, new Dictionary<string, IDictionary<string, byte[]>>(), _ => Placeholder) with
        {
            CondorTls = new[] { LeafSecretData.CertificateKey, LeafSecretData.PrivateKeyKey, LeafSecretData.CaCertificateKey }.ToDictionary(k => k, _ => placeholder),
        };
        var tokenObjects = new List<IKubernetesObject<V1ObjectMeta>>
        {
            FacilityPlanning.TokensSecret(facility, FacilitySecrets.IssuerKeysSecretName(facility.Metadata.Name),
                new Dictionary<string, byte[]> { [KeyRingSecret.ScheduleKey] = placeholder }),
            FacilityPlanning.TokensSecret(facility, FacilitySecrets.CaSecretName(facility.Metadata.Name),
                new Dictionary<string, byte[]>
                {
                    [FacilityCertificateAuthority.CertificateKey] = placeholder, [FacilityCertificateAuthority.PrivateKeyKey] = placeholder,
                }, "kubernetes.io/tls"),
        };
        return FacilityPlanning.Plan(facility, context, tokenObjects).SelectMany(c => c.Objects).ToList();
    }
}
