using System.Globalization;
using System.Text;
using k8s.Models;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>
/// A container's environment in the kubelet's order: Service links, then envFrom, then env (later wins), with
/// `$(VAR)` references expanded from what came before; plus what a runtime sets (PATH, HOSTNAME, HOME).
/// </summary>
public sealed class ContainerEnvironment
{
    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private readonly KubeReads _reads;

    public ContainerEnvironment(KubeReads reads) => _reads = reads;

    public async Task<Dictionary<string, string>> ResolveAsync(V1Pod pod, V1Container container, string podIp, NodeCapacity capacity,
        IReadOnlyList<V1Service> services, CancellationToken ct)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = DefaultPath,
            ["HOSTNAME"] = pod.Spec.Hostname ?? pod.Metadata.Name,
        };
        var ns = pod.Metadata.NamespaceProperty;
        foreach (var service in services.Where(s => s.Metadata.NamespaceProperty == ns && pod.Spec.EnableServiceLinks != false
                                                    || (s.Metadata.NamespaceProperty == "default" && s.Metadata.Name == "kubernetes")))
        {
            AddServiceLinks(env, service);
        }
        foreach (var source in container.EnvFrom ?? [])
        {
            var prefix = source.Prefix ?? "";
            if (source.ConfigMapRef is { } cmRef)
            {
                var map = await _reads.ConfigMapAsync(ns, cmRef.Name, ct);
                if (map is null && cmRef.Optional != true) throw new VolumeNotReadyException($"configmap \"{cmRef.Name}\" not found");
                foreach (var (k, v) in map?.Data ?? new Dictionary<string, string>()) env[prefix + k] = v;
            }
            if (source.SecretRef is { } secretRef)
            {
                var secret = await _reads.SecretAsync(ns, secretRef.Name, ct);
                if (secret is null && secretRef.Optional != true) throw new VolumeNotReadyException($"secret \"{secretRef.Name}\" not found");
                foreach (var (k, v) in secret?.Data ?? new Dictionary<string, byte[]>()) env[prefix + k] = Encoding.UTF8.GetString(v);
            }
        }
        foreach (var variable in container.Env ?? [])
        {
            if (variable.ValueFrom is not { } from)
            {
                env[variable.Name] = Expand(variable.Value ?? "", env);
                continue;
            }
            string? value = null;
            if (from.FieldRef is { } field) value = DownwardApi.Field(pod, field.FieldPath, podIp);
            else if (from.ResourceFieldRef is { } resource) value = DownwardApi.Resource(pod, resource, container, capacity);
            else if (from.ConfigMapKeyRef is { } cmKey)
            {
                var map = await _reads.ConfigMapAsync(ns, cmKey.Name, ct);
                if ((map?.Data is null || !map.Data.TryGetValue(cmKey.Key, out value)) && cmKey.Optional != true)
                    throw new VolumeNotReadyException($"couldn't find key {cmKey.Key} in ConfigMap {ns}/{cmKey.Name}");
            }
            else if (from.SecretKeyRef is { } secretKey)
            {
                var secret = await _reads.SecretAsync(ns, secretKey.Name, ct);
                if (secret?.Data is not null && secret.Data.TryGetValue(secretKey.Key, out var bytes)) value = Encoding.UTF8.GetString(bytes);
                else if (secretKey.Optional != true) throw new VolumeNotReadyException($"couldn't find key {secretKey.Key} in Secret {ns}/{secretKey.Name}");
            }
            if (value is not null) env[variable.Name] = value;
        }
        return env;
    }

    /// <summary>Kubernetes' `$(VAR)` expansion: defined names are replaced, `$$` is a literal `$`, anything else stays.</summary>
    public static string Expand(string text, IReadOnlyDictionary<string, string> env)
    {
        if (!text.Contains('$', StringComparison.Ordinal)) return text;
        var result = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '$' && i + 1 < text.Length)
            {
                if (text[i + 1] == '$')
                {
                    result.Append('$');
                    i++;
                    continue;
                }
                if (text[i + 1] == '(')
                {
                    var close = text.IndexOf(')', i + 2);
                    if (close > 0 && env.TryGetValue(text[(i + 2)..close], out var value))
                    {
                        result.Append(value);
                        i = close;
                        continue;
                    }
                }
            }
            result.Append(text[i]);
        }
        return result.ToString();
    }

    private static void AddServiceLinks(Dictionary<string, string> env, V1Service service)
    {
        if (service.Spec.ClusterIP is not { Length: > 0 } ip || ip == "None" || service.Spec.Ports is not { Count: > 0 } ports) return;
        var name = service.Metadata.Name.ToUpperInvariant().Replace('-', '_');
        var first = ports[0];
        env[$"{name}_SERVICE_HOST"] = ip;
        env[$"{name}_SERVICE_PORT"] = first.Port.ToString(CultureInfo.InvariantCulture);
        env[$"{name}_PORT"] = $"{(first.Protocol ?? "TCP").ToLowerInvariant()}://{ip}:{first.Port}";
        foreach (var port in ports)
        {
            var protocol = port.Protocol ?? "TCP";
            if (port.Name is { Length: > 0 } portName) env[$"{name}_SERVICE_PORT_{portName.ToUpperInvariant().Replace('-', '_')}"] = port.Port.ToString(CultureInfo.InvariantCulture);
            var prefix = $"{name}_PORT_{port.Port}_{protocol}";
            env[prefix] = $"{protocol.ToLowerInvariant()}://{ip}:{port.Port}";
            env[prefix + "_PROTO"] = protocol.ToLowerInvariant();
            env[prefix + "_PORT"] = port.Port.ToString(CultureInfo.InvariantCulture);
            env[prefix + "_ADDR"] = ip;
        }
    }
}
