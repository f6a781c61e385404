using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Common;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Builders.Sessions;

/// <summary>The DaskCluster a session asks for (its own spec.dask, or the facility's default for sessions), within the facility's limits.</summary>
public static class SessionDaskCluster
{
    public static DaskCluster Build(UserSession session, FacilityResource facility, SessionDask spec)
    {
        var labels = Labels.For(SessionBuilder.Application, session.Metadata.Name, "dask", facility.Metadata.Name);
        labels[Labels.User] = Labels.SafeValue(session.Spec.User.Name);
        var limits = SessionDaskLimits.Resolve(spec, facility.Spec.Dask, facility.Metadata.Name);
        return new DaskCluster
        {
            ApiVersion = $"{ApiGroup.Group}/{ApiGroup.Version}",
            Metadata = new V1ObjectMeta { Name = SessionNames.DaskCluster(session.Metadata.Name), NamespaceProperty = session.Metadata.NamespaceProperty, Labels = labels },
            Spec = new DaskClusterSpec
            {
                FacilityRef = facility.Metadata.Name,
                User = session.Spec.User.Name,
                Adaptive = new DaskAdaptiveSpec { Minimum = limits.Minimum, Maximum = limits.Maximum },
            },
        };
    }
}
