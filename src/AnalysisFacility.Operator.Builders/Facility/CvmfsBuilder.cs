using AnalysisFacility.Operator.Builders.Sessions;
using k8s;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Builders.Facility;

/// <summary>The facility's CVMFS claim (see <see cref="SessionCvmfs"/>); sessions mount it at /cvmfs.</summary>
public static class CvmfsBuilder
{
    public const string Component = "cvmfs";
    public const string ConditionType = "CvmfsReady";

    public static IReadOnlyList<string> Validate(Api.V1Alpha1.AnalysisFacilitySpec spec)
    {
        if (!spec.Cvmfs.Enabled) return [];
        var errors = new List<string>();
        if (string.IsNullOrEmpty(spec.Cvmfs.StorageClassName)) errors.Add("spec.cvmfs.storageClassName must name the CVMFS CSI driver's automount StorageClass");
        foreach (var repository in spec.Cvmfs.Repositories.Where(r => !System.Text.RegularExpressions.Regex.IsMatch(r, Api.V1Alpha1.Patterns.DnsSubdomain)))
            errors.Add($"spec.cvmfs.repositories: '{repository}' is not a repository name such as cms.cern.ch");
        return errors;
    }

    public static ComponentObjects Build(FacilityResource facility)
    {
        var cvmfs = facility.Spec.Cvmfs;
        if (!cvmfs.Enabled) return ComponentObjects.Disabled(Component, ConditionType);
        var errors = Validate(facility.Spec);
        if (errors.Count > 0) return ComponentObjects.Invalid(Component, ConditionType, errors);
        var kube = new Kube(facility, "cvmfs", Component);
        var claim = SessionCvmfs.Claim(facility.Metadata.Name, facility.Metadata.NamespaceProperty, cvmfs, kube.Labels());
        return ComponentObjects.Of(Component, ConditionType, [claim]);
    }
}
