using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.XCache;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.Tokens;
using AnalysisFacility.Operator.Controllers.Sessions;
using AnalysisFacility.Operator.Tokens.Issuance;
using k8s;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Controllers.XCache;

/// <summary>Planning shared by the controller's reconcile and <see cref="Render"/> (`render -f`, no cluster).</summary>
public static class XCachePlanning
{
    /// <summary>The facility the cache trusts for tokens (and whose CA signs its certificate), or null.</summary>
    public static string? FacilityRef(XCacheInstance instance) =>
        instance.Spec.Authorization?.FacilityRef is { Length: > 0 } facility ? facility : null;

    /// <summary>
    /// The facility's issuer URL and the audiences its tokens carry (its configured audiences, and the WLCG "any"
    /// audience when it mints that), or the reasons they are unusable.
    /// </summary>
    public static (XCacheIssuerSettings? Settings, IReadOnlyList<string> Errors) IssuerOf(FacilityResource facility)
    {
        var result = IssuerSettings.FromSpec(facility.Spec.Tokens, string.IsNullOrEmpty(facility.Metadata.Uid) ? "unknown" : facility.Metadata.Uid);
        if (!result.Succeeded) return (null, result.Errors.Select(e => $"AnalysisFacility {facility.Metadata.Name}: {e}").ToList());
        var issuer = result.Value!;
        var audiences = issuer.Audiences.ToList();
        if (issuer.AllowAnyAudience && !audiences.Contains(IssuerSettings.AnyAudience)) audiences.Add(IssuerSettings.AnyAudience);
        var trusted = facility.Spec.Tokens.TrustedIssuers
            .Select(t => new XCacheTrustedIssuer(t.Name, t.Issuer, t.BasePath, [.. t.Audiences])).ToList();
        // The issuer trust every facility publishes (FacilityPlanning.IssuerTrustConfigMap).
        return (new XCacheIssuerSettings(issuer.Issuer, audiences, new Builders.Facility.FacilityNames(facility.Metadata.Name).IssuerCa, trusted), []);
    }

    /// <summary>The facility whose issuer mints the cache's robot token for the origin, or null.</summary>
    public static string? RobotTokenFacility(XCacheInstance instance) =>
        XCacheOriginClient.SourceOf(instance.Spec) == OriginCredentialSource.FacilityRobotToken ? instance.Spec.OriginCredentials!.Token!.FacilityRef : null;

    /// <summary>
    /// The issuer settings and request of the cache's robot token: the facility's issuer, key ring and lifetime, but
    /// the origin's audience and the robot's own scopes (reading the exported paths unless configured), for the subject
    /// derived from xcache.&lt;instance&gt;. The facility's user scope policy and audiences do not apply to it.
    /// </summary>
    public static (IssuerSettings? Settings, TokenRequest Request, IReadOnlyList<string> Errors) RobotToken(XCacheInstance instance, FacilityResource facility)
    {
        var tokens = facility.Spec.Tokens;
        var robot = new TokenIssuerSpec
        {
            Issuer = tokens.Issuer,
            Algorithm = tokens.Algorithm,
            RsaKeySize = tokens.RsaKeySize,
            Lifetime = tokens.Lifetime,
            Audiences = [instance.Spec.OriginCredentials?.Token?.Audience ?? ""],
            ScopePolicy = new ScopePolicySpec { Default = [.. XCacheOriginClient.RobotScopes(instance.Spec)] },
            Rotation = tokens.Rotation,
        };
        var request = new TokenRequest(XCacheOriginClient.RobotUserName(instance.Metadata.Name), "xcache", []);
        var settings = IssuerSettings.FromSpec(robot, string.IsNullOrEmpty(facility.Metadata.Uid) ? "" : facility.Metadata.Uid);
        return settings.Succeeded
            ? (settings.Value, request, [])
            : (null, request, settings.Errors.Select(e => $"robot token of AnalysisFacility {facility.Metadata.Name}: {e}").ToList());
    }

    /// <summary>The component label of the robot token Secret.</summary>
    public const string RobotTokenComponent = "origin-token";

    /// <summary>The robot token Secret, owned by the cache, with the request hash the next reconcile compares.</summary>
    public static V1Secret RobotTokenSecret(XCacheInstance instance, string facilityName, MintedToken token, string requestHash)
    {
        var secret = TokenDelivery.BuildSecret(facilityName, instance.Metadata.NamespaceProperty, XCacheOriginClient.RobotUserName(instance.Metadata.Name), token);
        secret.Metadata.Name = XCacheOriginClient.RobotTokenSecretName(instance.Metadata.Name);
        secret.Metadata.Labels = Labels.For(XCacheBuilder.Application, instance.Metadata.Name, RobotTokenComponent, facilityName);
        secret.Metadata.Annotations[SessionPlanning.TokenRequestAnnotation] = requestHash;
        return StoredTokens.WithDigest(secret);
    }

    /// <summary>Stands in for the certificate and key only the facility CA can issue (`render -f`).</summary>
    public const string Placeholder = "<issued by the operator from the facility CA>";

    /// <summary>What the controller would create for <paramref name="instance"/>, for `render -f`; the TLS Secret holds placeholders. Throws <see cref="ArgumentException"/> when it cannot be built.</summary>
    public static IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Render(XCacheInstance instance, RenderSet set)
    {
        if (string.IsNullOrEmpty(instance.Metadata.NamespaceProperty)) instance.Metadata.NamespaceProperty = "default";
        XCacheIssuerSettings? issuer = null;
        if (FacilityRef(instance) is { } facilityName)
        {
            var facility = set.Facilities.FirstOrDefault(f => f.Metadata.Name == facilityName)
                ?? throw new ArgumentException($"XCacheInstance {instance.Metadata.Name}: AnalysisFacility {facilityName} (spec.authorization.facilityRef) is not in the rendered files.");
            var (settingsOfIssuer, errors) = IssuerOf(facility);
            if (errors.Count > 0) throw new ArgumentException($"XCacheInstance {instance.Metadata.Name}: {string.Join(" ", errors)}");
            issuer = settingsOfIssuer;
        }
        var build = XCacheBuilder.Build(instance, issuer);
        if (!build.Succeeded) throw new ArgumentException($"XCacheInstance {instance.Metadata.Name}: {string.Join("; ", build.Errors)}");
        var objects = new List<IKubernetesObject<V1ObjectMeta>>(build.Resources!.All);
        if (build.Resources.TlsSecretName is not null && FacilityRef(instance) is not null)
        {
            objects.Add(XCacheTls.BuildSecret(instance, XCacheTls.Placeholder(Placeholder)));
        }
        if (RobotTokenFacility(instance) is { } robotFacility)
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
