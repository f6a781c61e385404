using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.XCache;
using k8s;
using k8s.Models;

namespace AnalysisFacility.Operator.Controllers.XCache;

/// <summary>What the XCacheInstance controller would create, for `render -f`.</summary>
public static class XCacheRendering
{
    public const string Placeholder = "<issued by the operator from the facility CA>";

    /// <summary>The objects of <paramref name="instance"/>; the TLS Secret holds placeholders. Throws <see cref="ArgumentException"/> when it cannot be built.</summary>
    public static IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Render(XCacheInstance instance, RenderSet set, OperatorSettings settings)
    {
        _ = settings;
        if (string.IsNullOrEmpty(instance.Metadata.NamespaceProperty)) instance.Metadata.NamespaceProperty = "default";
        XCacheIssuerSettings? issuer = null;
        if (XCachePlanning.FacilityRef(instance) is { } facilityName)
        {
            var facility = set.Facilities.FirstOrDefault(f => f.Metadata.Name == facilityName)
                ?? throw new ArgumentException($"XCacheInstance {instance.Metadata.Name}: AnalysisFacility {facilityName} (spec.authorization.facilityRef) is not in the rendered files.");
            var (settingsOfIssuer, errors) = XCachePlanning.IssuerOf(facility);
            if (errors.Count > 0) throw new ArgumentException($"XCacheInstance {instance.Metadata.Name}: {string.Join(" ", errors)}");
            issuer = settingsOfIssuer;
        }
        var build = XCacheBuilder.Build(instance, issuer);
        if (!build.Succeeded) throw new ArgumentException($"XCacheInstance {instance.Metadata.Name}: {string.Join("; ", build.Errors)}");
        var objects = new List<IKubernetesObject<V1ObjectMeta>>(build.Resources!.All);
        if (build.Resources.TlsSecretName is not null && XCachePlanning.FacilityRef(instance) is not null)
        {
            objects.Add(XCacheTls.BuildSecret(instance, XCacheTls.Placeholder(Placeholder)));
        }
        if (XCachePlanning.RobotTokenFacility(instance) is { } robotFacility)
        {
            objects.Add(new V1Secret
            {
                ApiVersion = "v1",
                Kind = V1Secret.KubeKind,
                Metadata = new V1ObjectMeta { Name = XCacheOriginClient.RobotTokenSecretName(instance.Metadata.Name), NamespaceProperty = instance.Metadata.NamespaceProperty },
                Type = "Opaque",
                StringData = new Dictionary<string, string> { [Builders.Tokens.TokenDelivery.TokenKey] = $"<robot token minted by the issuer of AnalysisFacility {robotFacility}, refreshed at half its lifetime>" },
            });
        }
        return objects;
    }
}
