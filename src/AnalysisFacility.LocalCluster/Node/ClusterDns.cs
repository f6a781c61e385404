using System.Text;
using k8s.Models;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>
/// Name resolution for pods without a DNS server: a hosts file per pod with every Service under the names cluster DNS
/// gives it (`svc` in the pod's own namespace, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local`), headless Services
/// as their ready endpoints, and StatefulSet pods as `host.subdomain.ns.svc.cluster.local`. Pure: objects in, text out.
/// </summary>
public static class ClusterDns
{
    public const string ClusterDomain = "cluster.local";

    public static string HostsFile(V1Pod pod, string podAddress, IEnumerable<V1Service> services, IReadOnlyDictionary<string, V1Endpoints> endpoints)
    {
        var ns = pod.Metadata.NamespaceProperty;
        var hostname = pod.Spec.Hostname ?? pod.Metadata.Name;
        var text = new StringBuilder("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        var own = new List<string> { hostname };
        if (pod.Spec.Subdomain is { Length: > 0 } sub) own.InsertRange(0, Names($"{hostname}.{sub}", ns, includeShort: false));
        text.Append(podAddress).Append('\t').AppendJoin(' ', own).Append('\n');
        var all = services.ToList();
        foreach (var service in all.OrderBy(s => s.Metadata.NamespaceProperty, StringComparer.Ordinal).ThenBy(s => s.Metadata.Name, StringComparer.Ordinal))
        {
            var serviceNs = service.Metadata.NamespaceProperty;
            var names = Names(service.Metadata.Name, serviceNs, includeShort: serviceNs == ns);
            if (service.Spec.Type == "ExternalName")
            {
                // A CNAME: answered here only when it names another Service of the cluster (nothing outside is ever resolved).
                var target = (service.Spec.ExternalName ?? "").TrimEnd('.');
                var aliased = all.FirstOrDefault(o => o.Spec.ClusterIP is { Length: > 0 } cip && cip != "None"
                                                      && Names(o.Metadata.Name, o.Metadata.NamespaceProperty, includeShort: false).Contains(target, StringComparer.Ordinal));
                if (aliased is not null) text.Append(aliased.Spec.ClusterIP).Append('\t').AppendJoin(' ', names).Append('\n');
                continue;
            }
            if (service.Spec.ClusterIP is { Length: > 0 } ip && ip != "None")
            {
                text.Append(ip).Append('\t').AppendJoin(' ', names).Append('\n');
                continue;
            }
            if (!endpoints.TryGetValue($"{serviceNs}/{service.Metadata.Name}", out var ep)) continue;
            foreach (var address in ep.Subsets?.SelectMany(s => s.Addresses ?? []) ?? [])
            {
                text.Append(address.Ip).Append('\t');
                if (address.Hostname is { Length: > 0 } h) text.AppendJoin(' ', Names($"{h}.{service.Metadata.Name}", serviceNs, includeShort: false)).Append(' ');
                text.AppendJoin(' ', names).Append('\n');
            }
        }
        return text.ToString();
    }

    /// <summary>A resolv.conf with the cluster's search path; there is no name server, names come from the hosts file.</summary>
    public static string ResolvConf(string @namespace) =>
        $"search {@namespace}.svc.{ClusterDomain} svc.{ClusterDomain} {ClusterDomain}\noptions ndots:5\n";

    private static IEnumerable<string> Names(string name, string ns, bool includeShort)
    {
        if (includeShort) yield return name;
        yield return $"{name}.{ns}";
        yield return $"{name}.{ns}.svc";
        yield return $"{name}.{ns}.svc.{ClusterDomain}";
    }
}
