using System.Globalization;
using System.Text.RegularExpressions;
using AnalysisFacility.Operator.Api.V1Alpha1;
using k8s.Models;

namespace AnalysisFacility.Operator.Builders.XCache;

/// <summary>
/// Checks an XCacheInstance for mistakes the schema cannot express (or that reach us without the schema).
/// Returns every problem as "field: what is wrong; what is allowed"; an empty list means valid.
/// </summary>
public static class XCacheValidator
{
    private const long OneGibibyte = 1L << 30;
    private const long BlockSizeUnit = 4 * 1024;

    public static IReadOnlyList<string> Validate(XCacheInstance instance, XCacheIssuerSettings? facilityIssuer = null)
    {
        var errors = new List<string>();
        var spec = instance.Spec;
        if (spec is null)
        {
            errors.Add("spec: missing");
            return errors;
        }

        if (spec.Replicas is < 1 or > 100)
        {
            errors.Add($"spec.replicas: {spec.Replicas} is out of range; allowed 1 to 100");
        }
        if (string.IsNullOrWhiteSpace(spec.Origin))
        {
            errors.Add("spec.origin: missing; give the origin or redirector the cache reads from, as root://host[:port]");
        }
        else if (XCacheConfig.ParseOrigin(spec.Origin) is null)
        {
            errors.Add($"spec.origin: '{spec.Origin}' is not root://host[:port] or roots://host[:port] (no path, port 1-65535)");
        }

        ValidateExportedPaths(spec.ExportedPaths, errors);
        ValidateCacheSize(spec, errors);
        var ramBytes = ValidateRam(spec.Ram, errors);
        ValidateWatermarks(spec.Watermarks, errors);
        ValidateBlockSize(spec.BlockSize, errors);

        if (spec.Prefetch is < 0 or > 128)
        {
            errors.Add($"spec.prefetch: {spec.Prefetch} is out of range; allowed 0 (off) to 128 blocks");
        }
        if (spec.HttpPort is { } httpPort && (httpPort is < 1 or > 65535 || httpPort == XCacheLayout.DefaultXrootPort))
        {
            errors.Add($"spec.httpPort: {httpPort} is not allowed; use a port from 1 to 65535 other than the xroot port {XCacheLayout.DefaultXrootPort}");
        }
        if (string.IsNullOrWhiteSpace(spec.Image) || !Regex.IsMatch(spec.Image, Patterns.Image))
        {
            errors.Add($"spec.image: '{spec.Image}' is not a container image reference");
        }
        ValidateResources(spec.Resources, ramBytes, errors);
        ValidateAuthorization(spec.Authorization, facilityIssuer, errors);
        ValidateOriginCredentials(spec.OriginCredentials, errors);
        return errors;
    }

    private static void ValidateExportedPaths(List<string>? paths, List<string> errors)
    {
        if (paths is null || paths.Count == 0)
        {
            errors.Add("spec.exportedPaths: empty; give at least one absolute path such as /store");
            return;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < paths.Count; i++)
        {
            var path = paths[i] ?? "";
            if (!IsNormalisedAbsolutePath(path))
            {
                errors.Add($"spec.exportedPaths[{i}]: '{path}' is not a normalised absolute path; use /segment/segment " +
                    "with letters, digits and . _ ~ - (no '.', '..' or empty segments, no trailing slash)");
            }
            else if (!seen.Add(path))
            {
                errors.Add($"spec.exportedPaths[{i}]: '{path}' is listed twice");
            }
        }
    }

    private static void ValidateCacheSize(XCacheInstanceSpec spec, List<string> errors)
    {
        if (TryParseQuantity(spec.CacheSize, out var bytes) && bytes > 0) return;
        errors.Add($"spec.cacheSize: '{spec.CacheSize}' is not a positive Kubernetes quantity such as 100Gi");
    }

    private static long? ValidateRam(string ram, List<string> errors)
    {
        var bytes = ParseXrootdSize(ram, "kmgt");
        if (bytes is null)
        {
            errors.Add($"spec.ram: '{ram}' is not a size like 4g (a number followed by k, m, g or t)");
            return null;
        }
        if (bytes < OneGibibyte)
        {
            errors.Add($"spec.ram: '{ram}' is below the minimum; pfc.ram must be at least 1g");
        }
        return bytes;
    }

    private static void ValidateWatermarks(XCacheWatermarks? watermarks, List<string> errors)
    {
        if (watermarks is null)
        {
            errors.Add("spec.watermarks: missing; give low and high fractions such as 0.90 and 0.95");
            return;
        }
        var low = ParseFraction(watermarks.Low);
        var high = ParseFraction(watermarks.High);
        if (low is null) errors.Add($"spec.watermarks.low: '{watermarks.Low}' is not a fraction strictly between 0 and 1, such as 0.90");
        if (high is null) errors.Add($"spec.watermarks.high: '{watermarks.High}' is not a fraction strictly between 0 and 1, such as 0.95");
        if (low is not null && high is not null && low >= high)
        {
            errors.Add($"spec.watermarks: low ({watermarks.Low}) must be below high ({watermarks.High}); " +
                "purging starts above high and stops below low");
        }
    }

    private static void ValidateBlockSize(string blockSize, List<string> errors)
    {
        var bytes = ParseXrootdSize(blockSize, "kmg");
        if (bytes is null)
        {
            errors.Add($"spec.blockSize: '{blockSize}' is not a size like 1m (a number followed by k, m or g)");
        }
        else if (bytes < BlockSizeUnit || bytes % BlockSizeUnit != 0)
        {
            errors.Add($"spec.blockSize: '{blockSize}' must be a positive multiple of 4k (xrootd rounds other values)");
        }
    }

    private static void ValidateResources(ComputeResources? resources, long? ramBytes, List<string> errors)
    {
        if (resources is null) return;
        if (resources.Cpu is { } cpu && !(TryParseQuantity(cpu, out var cores) && cores > 0))
        {
            errors.Add($"spec.resources.cpu: '{cpu}' is not a positive Kubernetes quantity such as 2 or 500m");
        }
        if (resources.Memory is { } memory)
        {
            if (!(TryParseQuantity(memory, out var memoryBytes) && memoryBytes > 0))
            {
                errors.Add($"spec.resources.memory: '{memory}' is not a positive Kubernetes quantity such as 8Gi");
            }
            else if (ramBytes is { } ram && memoryBytes <= ram)
            {
                // pfc.ram is a buffer on top of xrootd's own memory: a limit at or below it gets the pod OOM-killed.
                errors.Add($"spec.resources.memory: {memory} must be larger than spec.ram ({ramBytes / OneGibibyte}g and more), " +
                    "the cache's RAM buffer comes on top of the server's own memory");
            }
        }
        if (resources.Gpus is > 0)
        {
            errors.Add("spec.resources.gpus: an XRootD cache does not use GPUs; leave it unset");
        }
    }

    private static void ValidateAuthorization(XCacheAuthorization? authorization, XCacheIssuerSettings? facilityIssuer, List<string> errors)
    {
        if (authorization is null) return;
        var hasFacility = !string.IsNullOrEmpty(authorization.FacilityRef);
        var hasIssuer = !string.IsNullOrEmpty(authorization.Issuer);
        if (!hasFacility && !hasIssuer)
        {
            errors.Add("spec.authorization: neither facilityRef nor issuer is set; name the AnalysisFacility whose issuer " +
                "to trust, or give issuer and audiences");
        }
        else if (hasFacility && hasIssuer)
        {
            errors.Add("spec.authorization: facilityRef and issuer are both set; use one (the facility's issuer comes with its audiences)");
        }
        else if (hasFacility)
        {
            if (!Regex.IsMatch(authorization.FacilityRef!, Patterns.DnsLabel))
            {
                errors.Add($"spec.authorization.facilityRef: '{authorization.FacilityRef}' is not an object name (DNS label)");
            }
            else if (facilityIssuer is null)
            {
                errors.Add($"spec.authorization.facilityRef: AnalysisFacility '{authorization.FacilityRef}' has no issuer available yet");
            }
            else
            {
                ValidateIssuerAndAudiences(facilityIssuer.IssuerUrl, facilityIssuer.Audiences,
                    $"AnalysisFacility '{authorization.FacilityRef}' issuer", errors);
            }
            if (authorization.Audiences.Count > 0)
            {
                errors.Add("spec.authorization.audiences: set together with facilityRef; the facility's audiences are used, remove this list");
            }
        }
        else
        {
            ValidateIssuerAndAudiences(authorization.Issuer!, authorization.Audiences, "spec.authorization", errors);
        }

        if (!IsNormalisedAbsolutePath(authorization.BasePath ?? ""))
        {
            errors.Add($"spec.authorization.basePath: '{authorization.BasePath}' is not a normalised absolute path such as / or /store");
        }
    }

    private static void ValidateOriginCredentials(XCacheOriginCredentials? credentials, List<string> errors)
    {
        if (credentials is null) return;
        const string where = "spec.originCredentials";
        if ((credentials.Token is null) == (credentials.X509Proxy is null))
        {
            errors.Add($"{where}: set exactly one of token and x509Proxy");
        }
        if (credentials.Token is { } token)
        {
            var hasFacility = !string.IsNullOrEmpty(token.FacilityRef);
            if (hasFacility == (token.SecretRef is not null))
            {
                errors.Add($"{where}.token: set exactly one of facilityRef (the operator mints a robot token) and secretRef (a token kept fresh by someone else)");
            }
            if (hasFacility)
            {
                if (!Regex.IsMatch(token.FacilityRef!, Patterns.DnsLabel))
                    errors.Add($"{where}.token.facilityRef: '{token.FacilityRef}' is not an object name (DNS label)");
                if (string.IsNullOrWhiteSpace(token.Audience) || token.Audience.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
                    errors.Add($"{where}.token.audience: missing or contains whitespace; give the audience the origin accepts (e.g. its https:// URL)");
                for (var i = 0; i < token.Scopes.Count; i++)
                {
                    if (AnalysisFacility.Operator.Tokens.Issuance.ScopeRules.Check(token.Scopes[i], $"{where}.token.scopes[{i}]") is { } problem) errors.Add(problem);
                }
            }
            else if (token.Audience is not null || token.Scopes.Count > 0)
            {
                errors.Add($"{where}.token: audience and scopes only apply to a robot token minted with facilityRef; the token in secretRef carries its own");
            }
            if (token.SecretRef is { } secretRef) ValidateSecretKey(secretRef.Name, secretRef.Key, $"{where}.token.secretRef", errors);
        }
        if (credentials.X509Proxy is { } proxy) ValidateSecretKey(proxy.SecretName, proxy.Key, $"{where}.x509Proxy", errors);
        if (credentials.CaCertificatesConfigMap is { } ca && !Regex.IsMatch(ca, Patterns.DnsSubdomain))
        {
            errors.Add($"{where}.caCertificatesConfigMap: '{ca}' is not an object name");
        }
        if (string.IsNullOrWhiteSpace(credentials.HelperImage) || !Regex.IsMatch(credentials.HelperImage, Patterns.Image))
        {
            errors.Add($"{where}.helperImage: '{credentials.HelperImage}' is not a container image reference");
        }
    }

    private static void ValidateSecretKey(string name, string key, string where, List<string> errors)
    {
        if (string.IsNullOrEmpty(name) || !Regex.IsMatch(name, Patterns.DnsSubdomain)) errors.Add($"{where}: Secret name '{name}' is not an object name");
        if (string.IsNullOrEmpty(key) || !Regex.IsMatch(key, "^[-._a-zA-Z0-9]+$")) errors.Add($"{where}: key '{key}' is not a Secret key (letters, digits, - _ .)");
    }

    private static void ValidateIssuerAndAudiences(string issuer, IReadOnlyList<string> audiences, string where, List<string> errors)
    {
        if (!Regex.IsMatch(issuer, Patterns.IssuerUrl))
        {
            errors.Add($"{where}.issuer: '{issuer}' is not an https:// URL without a trailing slash");
        }
        if (audiences.Count == 0)
        {
            // xrootd-scitokens refuses every token that names an audience when it accepts none.
            errors.Add($"{where}.audiences: empty; list the audiences the facility's tokens carry");
        }
        for (var i = 0; i < audiences.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(audiences[i]) || audiences[i].Any(char.IsControl))
            {
                errors.Add($"{where}.audiences[{i}]: empty or contains control characters");
            }
        }
    }

    /// <summary>An absolute path with no empty, "." or ".." segments and no trailing slash ("/" itself allowed).</summary>
    public static bool IsNormalisedAbsolutePath(string path)
    {
        if (!Regex.IsMatch(path, Patterns.AbsolutePath)) return false;
        return path == "/" || path[1..].Split('/').All(segment => segment is not ("." or ".."));
    }

    /// <summary>Parses xrootd sizes such as 512k, 1m, 4g (binary multiples, as XrdOuca2x::a2sz does).</summary>
    internal static long? ParseXrootdSize(string? text, string units)
    {
        if (string.IsNullOrEmpty(text) || text.Length < 2) return null;
        var unit = text[^1];
        if (!units.Contains(unit) || !long.TryParse(text[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var number)) return null;
        var shift = unit switch { 'k' => 10, 'm' => 20, 'g' => 30, _ => 40 };
        return number > (long.MaxValue >> shift) ? null : number << shift;
    }

    private static double? ParseFraction(string? text)
    {
        if (string.IsNullOrEmpty(text) || !Regex.IsMatch(text, "^0?\\.[0-9]+$")) return null;
        var value = double.Parse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
        return value is > 0 and < 1 ? value : null;
    }

    private static bool TryParseQuantity(string? text, out decimal value)
    {
        value = 0;
        if (string.IsNullOrEmpty(text) || !Regex.IsMatch(text, Patterns.Quantity)) return false;
        try
        {
            value = new ResourceQuantity(text).ToDecimal();
            return true;
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or ArgumentException)
        {
            return false;
        }
    }
}
