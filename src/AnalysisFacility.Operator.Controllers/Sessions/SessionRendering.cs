using AnalysisFacility.Operator.Builders.Sessions;
using System.Text;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Tokens;
using k8s;
using k8s.Models;

namespace AnalysisFacility.Operator.Controllers.Sessions;

/// <summary>What `render -f` shows for a session: the objects the controller would apply (the token as a placeholder).</summary>
public static class SessionRendering
{
    public const string Placeholder = "<minted in the cluster>";
    private const string PlaceholderUid = "00000000-0000-0000-0000-000000000000";

    /// <summary>The session's objects; empty when its facility is not in <paramref name="set"/>; throws with the field errors when invalid.</summary>
    public static IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Render(UserSession session, RenderSet set, OperatorSettings settings)
    {
        _ = settings;
        if (string.IsNullOrEmpty(session.Metadata.Uid)) session.Metadata.Uid = PlaceholderUid;
        var facility = set.Facilities.FirstOrDefault(f => f.Metadata.Name == session.Spec.FacilityRef
            && (f.Metadata.NamespaceProperty ?? session.Metadata.NamespaceProperty) == session.Metadata.NamespaceProperty);
        if (facility is null) return [];
        var plan = SessionPlanning.Plan(session, facility, set.DaskClusters.FirstOrDefault(d =>
            d.Metadata.Name == SessionNames.DaskCluster(session.Metadata.Name) && d.Metadata.NamespaceProperty == session.Metadata.NamespaceProperty));
        if (!plan.Build.Succeeded) throw new InvalidOperationException(string.Join(" ", plan.Build.Errors));

        var secret = new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = new V1ObjectMeta { Name = plan.TokenSecretName, NamespaceProperty = session.Metadata.NamespaceProperty },
            Type = "Opaque",
            Data = new Dictionary<string, byte[]> { [TokenDelivery.TokenKey] = Encoding.UTF8.GetBytes(Placeholder) },
        };
        var objects = new List<IKubernetesObject<V1ObjectMeta>> { secret };
        objects.AddRange(plan.Build.Objects!.All());
        if (plan.Dask is { } dask)
        {
            dask.Status = null!;
            objects.Add(dask);
        }
        // As the reconciler's applies own them: the Applier is where owner references are set.
        foreach (var obj in objects) Runtime.Apply.Applier.SetControllerReference(obj, session);
        return objects;
    }
}
