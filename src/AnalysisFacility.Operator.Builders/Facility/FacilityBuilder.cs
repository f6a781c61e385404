using AnalysisFacility.Operator.Api.V1Alpha1;
using k8s;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Builders.Facility;

/// <summary>Everything a facility should have, per component, plus the validation errors of its spec.</summary>
public sealed record FacilityBuildResult(IReadOnlyList<ComponentObjects> Components)
{
    /// <summary>Errors of every invalid component; the controller reports them with Ready=False and an Event.</summary>
    public IReadOnlyList<string> Errors => Components.SelectMany(c => c.Errors).ToList();

    public IEnumerable<IKubernetesObject<V1ObjectMeta>> Objects => Components.SelectMany(c => c.Objects);

    public ComponentObjects this[string component] => Components.Single(c => c.Component == component);
}

public static class FacilityBuilder
{
    /// <summary>
    /// Builds every component. An invalid component has errors and no objects: the controller must keep what
    /// already runs for it instead of pruning, so a bad edit never tears a working service down.
    /// </summary>
    public static FacilityBuildResult Build(FacilityResource facility, FacilityContext context) => new(
    [
        HubBuilder.Build(facility, context),
        HTCondorBuilder.Build(facility, context),
        ServiceXBuilder.Build(facility, context),
        TritonBuilder.Build(facility),
        MlflowBuilder.Build(facility, context),
        UserStoreBuilder.Build(facility),
        CvmfsBuilder.Build(facility),
    ]);

    /// <summary>All validation errors of the spec, without building anything.</summary>
    public static IReadOnlyList<string> Validate(AnalysisFacilitySpec spec) =>
    [
        .. HubBuilder.Validate(spec),
        .. HTCondorBuilder.Validate(spec),
        .. ServiceXBuilder.Validate(spec),
        .. TritonBuilder.Validate(spec),
        .. MlflowBuilder.Validate(spec),
        .. UserStoreBuilder.Validate(spec),
        .. CvmfsBuilder.Validate(spec),
        .. Sessions.SessionRucio.Validate(spec.Rucio),
    ];

    /// <summary>
    /// Endpoints of the enabled components (null for disabled ones), as the facility's status reports them. A pure
    /// function of the spec: sessions use it directly, so their configuration never waits for (or changes with) the
    /// facility's status.
    /// </summary>
    public static FacilityEndpoints Endpoints(FacilityResource facility)
    {
        var spec = facility.Spec;
        var names = new FacilityNames(facility.Metadata.Name);
        var ns = facility.Metadata.NamespaceProperty;
        return new FacilityEndpoints
        {
            Hub = !spec.Hub.Enabled ? null
                : spec.Hub.Host is { } host ? $"https://{host}" : $"http://{names.Hub}.{ns}.svc",
            Issuer = string.IsNullOrEmpty(spec.Tokens.Issuer) ? null : spec.Tokens.Issuer,
            Collector = spec.HTCondor.Enabled ? HTCondorBuilder.CollectorAddress(facility) : null,
            Schedd = spec.HTCondor.Enabled ? HTCondorBuilder.ScheddName(facility) : null,
            ExternalCollector = spec.HTCondor.Enabled ? HTCondorBuilder.ExternalCollectorAddress(facility) : null,
            CondorCaConfigMap = spec.HTCondor.Enabled ? names.CondorCa : null,
            TokenEndpoint = string.IsNullOrEmpty(spec.Tokens.Issuer) || spec.Tokens.Robots.Count == 0 ? null : spec.Tokens.Issuer + "/token",
            ServiceX = spec.ServiceX.Enabled ? ServiceXBuilder.Url(facility) : null,
            Mlflow = spec.Mlflow.Enabled ? MlflowBuilder.Url(facility) : null,
            Triton = spec.Triton.Enabled ? TritonBuilder.Url(facility) : null,
            XCache = spec.XCache is { Name.Length: > 0 } xcache ? XCache.XCacheBuilder.Endpoint(xcache.Name, ns) : null,
        };
    }
}
