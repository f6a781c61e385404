using System.Text.RegularExpressions;
using AnalysisFacility.Operator.Api.V1Alpha1;
using k8s.Models;

namespace AnalysisFacility.Operator.Builders.Dask;

/// <summary>Checks a DaskCluster against its facility; every message names the field, what is wrong and what is allowed.</summary>
public static partial class DaskClusterValidator
{
    /// <summary>Environment variables the operator sets itself; a user value would silently break TLS or the HTTP API.</summary>
    public static readonly IReadOnlySet<string> ReservedEnvironment = new HashSet<string>(StringComparer.Ordinal)
    {
        DaskEnvironment.HttpRoutes,
        DaskEnvironment.RequireEncryption,
        DaskEnvironment.TlsCaFile,
        DaskEnvironment.TlsSchedulerCert,
        DaskEnvironment.TlsSchedulerKey,
        DaskEnvironment.TlsWorkerCert,
        DaskEnvironment.TlsWorkerKey,
        DaskEnvironment.TlsClientCert,
        DaskEnvironment.TlsClientKey,
        DaskEnvironment.WorkerName,
        DaskEnvironment.BearerTokenFile,
    };

    public static IReadOnlyList<string> Validate(DaskClusterSpec spec, string facilityName, string? facilityDomain, DaskDefaults defaults)
    {
        var errors = new List<string>();

        if (spec.Adaptive is { } adaptive)
        {
            if (adaptive.Minimum < 0)
                errors.Add($"spec.adaptive.minimum is {adaptive.Minimum}; it must be 0 or more.");
            if (adaptive.Maximum < adaptive.Minimum)
                errors.Add($"spec.adaptive.maximum ({adaptive.Maximum}) is below spec.adaptive.minimum ({adaptive.Minimum}); set maximum to at least minimum.");
            if (adaptive.Maximum > defaults.MaxWorkersPerCluster)
                errors.Add($"spec.adaptive.maximum ({adaptive.Maximum}) exceeds the facility's spec.dask.maxWorkersPerCluster ({defaults.MaxWorkersPerCluster}) of AnalysisFacility {facilityName}.");
            if (TryParseDuration(adaptive.Interval, out var interval) is false || interval < TimeSpan.FromSeconds(1))
                errors.Add($"spec.adaptive.interval '{adaptive.Interval}' is not a duration of at least 1s made of hours, minutes and seconds (e.g. 10s, 1m30s).");
        }
        else
        {
            if (spec.Worker.Replicas < 0)
                errors.Add($"spec.worker.replicas is {spec.Worker.Replicas}; it must be 0 or more.");
            if (spec.Worker.Replicas > defaults.MaxWorkersPerCluster)
                errors.Add($"spec.worker.replicas ({spec.Worker.Replicas}) exceeds the facility's spec.dask.maxWorkersPerCluster ({defaults.MaxWorkersPerCluster}) of AnalysisFacility {facilityName}.");
        }

        if (spec.Worker.Threads is < 1 or > 256)
            errors.Add($"spec.worker.threads is {spec.Worker.Threads}; it must be between 1 and 256.");

        CheckQuantity(errors, "spec.worker.resources.cpu", spec.Worker.Resources?.Cpu);
        CheckQuantity(errors, "spec.worker.resources.memory", spec.Worker.Resources?.Memory);
        CheckQuantity(errors, "spec.scheduler.resources.cpu", spec.Scheduler.Resources?.Cpu);
        CheckQuantity(errors, "spec.scheduler.resources.memory", spec.Scheduler.Resources?.Memory);
        CheckQuantity(errors, $"spec.dask.workerCores of AnalysisFacility {facilityName}", defaults.WorkerCores);
        CheckQuantity(errors, $"spec.dask.workerMemory of AnalysisFacility {facilityName}", defaults.WorkerMemory);

        if (spec.Scheduler.IdleTimeoutSeconds < 0)
            errors.Add($"spec.scheduler.idleTimeoutSeconds is {spec.Scheduler.IdleTimeoutSeconds}; it must be 0 (never) or more.");
        if (spec.Scheduler.ServiceType is not ("ClusterIP" or "NodePort" or "LoadBalancer"))
            errors.Add($"spec.scheduler.serviceType '{spec.Scheduler.ServiceType}' is not one of ClusterIP, NodePort, LoadBalancer.");

        CheckEnvironment(errors, "spec.scheduler.env", spec.Scheduler.Env);
        CheckEnvironment(errors, "spec.worker.env", spec.Worker.Env);

        if (spec.External)
        {
            if (string.IsNullOrWhiteSpace(facilityDomain))
                errors.Add($"spec.external is true but AnalysisFacility {facilityName} has no spec.domain; set the facility's domain or set external to false.");
            if (!spec.Tls)
                errors.Add("spec.external is true but spec.tls is false; the external address is routed by TLS SNI, so it needs tls: true.");
        }

        return errors;
    }

    /// <summary>Parses the schema's duration form (e.g. 10s, 1m30s, 2h).</summary>
    public static bool TryParseDuration(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text) || !DurationPattern().IsMatch(text)) return false;
        foreach (Match part in DurationPart().Matches(text))
        {
            if (!long.TryParse(part.Groups[1].Value, out var amount) || amount > 10_000_000) return false;
            duration += part.Groups[2].Value switch
            {
                "h" => TimeSpan.FromHours(amount),
                "m" => TimeSpan.FromMinutes(amount),
                _ => TimeSpan.FromSeconds(amount),
            };
        }
        return true;
    }

    /// <summary>Parses a Kubernetes quantity; null when it is not one or not positive.</summary>
    public static decimal? ParsePositiveQuantity(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || !QuantityPattern().IsMatch(text)) return null;
        try
        {
            var value = new ResourceQuantity(text).ToDecimal();
            return value > 0 ? value : null;
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            return null;
        }
    }

    private static void CheckQuantity(List<string> errors, string field, string? value)
    {
        if (value is null) return;
        if (ParsePositiveQuantity(value) is null)
            errors.Add($"{field} '{value}' is not a positive Kubernetes quantity (e.g. 2, 500m, 6Gi).");
    }

    private static void CheckEnvironment(List<string> errors, string field, IReadOnlyList<EnvironmentVariable> variables)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < variables.Count; i++)
        {
            var name = variables[i].Name;
            if (!EnvironmentName().IsMatch(name))
                errors.Add($"{field}[{i}].name '{name}' is not a valid variable name (letters, digits and _, not starting with a digit).");
            else if (ReservedEnvironment.Contains(name))
                errors.Add($"{field}[{i}].name {name} is set by the operator and cannot be overridden.");
            else if (!seen.Add(name))
                errors.Add($"{field}[{i}].name {name} appears more than once.");
        }
    }

    [GeneratedRegex(Patterns.Duration)] private static partial Regex DurationPattern();
    [GeneratedRegex("([0-9]+)(h|m|s)")] private static partial Regex DurationPart();
    [GeneratedRegex(Patterns.Quantity)] private static partial Regex QuantityPattern();
    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")] private static partial Regex EnvironmentName();
}
