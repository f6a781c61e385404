using System.Text.RegularExpressions;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Facility;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Builders.Sessions;

/// <summary>Checks a session against its facility; every message names the field, what is wrong and what is allowed.</summary>
public static class SessionValidation
{
    private static readonly Regex UserName = new(Patterns.UserName, RegexOptions.CultureInvariant);
    private static readonly Regex StoreName = new(Patterns.StoreName, RegexOptions.CultureInvariant);
    private static readonly Regex Quantity = new(Patterns.Quantity, RegexOptions.CultureInvariant);
    private static readonly Regex Image = new(Patterns.Image, RegexOptions.CultureInvariant);
    private static readonly Regex DnsLabel = new(Patterns.DnsLabel, RegexOptions.CultureInvariant);
    private static readonly Regex DnsSubdomain = new(Patterns.DnsSubdomain, RegexOptions.CultureInvariant);
    private static readonly Regex WlcgGroup = new(Patterns.WlcgGroup, RegexOptions.CultureInvariant);

    /// <summary>Errors in the session itself and in how it refers to the facility (empty when valid).</summary>
    public static List<string> Validate(UserSession session, FacilityResource? facility)
    {
        var errors = new List<string>();
        var spec = session.Spec;
        var ns = session.Metadata?.NamespaceProperty;

        if (string.IsNullOrEmpty(session.Metadata?.Name)) errors.Add("metadata.name: the session has no name.");
        if (string.IsNullOrEmpty(ns)) errors.Add("metadata.namespace: the session has no namespace.");

        if (string.IsNullOrEmpty(spec.FacilityRef))
        {
            errors.Add("spec.facilityRef: required; name the AnalysisFacility of this namespace the session belongs to.");
        }
        else if (!DnsLabel.IsMatch(spec.FacilityRef))
        {
            errors.Add($"spec.facilityRef: '{spec.FacilityRef}' is not a valid object name (lower-case letters, digits and '-').");
        }
        else if (facility is null)
        {
            errors.Add($"spec.facilityRef: AnalysisFacility '{spec.FacilityRef}' does not exist in namespace '{ns}'; sessions must live in their facility's namespace.");
        }
        else if (facility.Metadata?.Name != spec.FacilityRef || facility.Metadata?.NamespaceProperty != ns)
        {
            errors.Add($"spec.facilityRef: refers to '{spec.FacilityRef}' but the facility given is '{facility.Metadata?.NamespaceProperty}/{facility.Metadata?.Name}'.");
        }

        if (!UserName.IsMatch(spec.User.Name))
        {
            errors.Add($"spec.user.name: '{spec.User.Name}' is not a valid user name; use 1 to 64 letters, digits and . _ @ + -, starting with a letter or digit.");
        }
        foreach (var group in spec.User.Groups.Where(g => !WlcgGroup.IsMatch(g)))
        {
            errors.Add($"spec.user.groups: '{group}' is not a WLCG group; use a path such as /cms or /cms/higgs.");
        }
        if (spec.StoreName is not null && !StoreName.IsMatch(spec.StoreName))
        {
            errors.Add($"spec.storeName: '{spec.StoreName}' is not a single directory name; use 1 to 64 letters, digits and . _ -, starting with a letter or digit.");
        }
        if (spec.Image is not null && !Image.IsMatch(spec.Image))
        {
            errors.Add($"spec.image: '{spec.Image}' is not a container image reference.");
        }
        CheckQuantity(spec.Cores, "spec.cores", "2 or 500m", errors);
        CheckQuantity(spec.Memory, "spec.memory", "4Gi", errors);
        if (spec.Gpus is < 0 or > 16) errors.Add($"spec.gpus: {spec.Gpus} is out of range; allowed are 0 to 16.");
        if (spec.HubEnvSecretName is not null && !DnsSubdomain.IsMatch(spec.HubEnvSecretName))
        {
            errors.Add($"spec.hubEnvSecretName: '{spec.HubEnvSecretName}' is not a valid Secret name.");
        }
        return errors;
    }

    /// <summary>Errors in the store name the controller resolved (it may come from the facility mapping or an e-mail).</summary>
    public static void ValidateStoreName(string? storeName, List<string> errors)
    {
        if (storeName is not null && !StoreName.IsMatch(storeName))
        {
            errors.Add($"store name: '{storeName}' is not a single directory name; use 1 to 64 letters, digits and . _ -, starting with a letter or digit.");
        }
    }

    private static void CheckQuantity(string? value, string field, string example, List<string> errors)
    {
        if (value is not null && !Quantity.IsMatch(value))
        {
            errors.Add($"{field}: '{value}' is not a Kubernetes quantity (e.g. {example}).");
        }
    }
}
