using k8s.Models;

namespace AnalysisFacility.LocalCluster.Node;

/// <summary>Who a container's process is: user, group, supplementary groups, and the capabilities it keeps.</summary>
public sealed record ContainerIdentity(long? User, long? Group, IReadOnlyList<long> Groups, IReadOnlyList<string> DroppedCapabilities,
    bool NoNewPrivileges, bool Privileged)
{
    public static ContainerIdentity Of(V1Pod pod, V1Container container)
    {
        var podContext = pod.Spec.SecurityContext;
        var context = container.SecurityContext;
        var user = context?.RunAsUser ?? podContext?.RunAsUser;
        var group = context?.RunAsGroup ?? podContext?.RunAsGroup;
        var groups = new List<long>();
        if (podContext?.FsGroup is { } fsGroup) groups.Add(fsGroup);
        groups.AddRange((podContext?.SupplementalGroups ?? []).OfType<long>());
        var privileged = context?.Privileged == true;
        var dropped = privileged ? [] : (context?.Capabilities?.Drop ?? []).Select(c => c.ToLowerInvariant().Replace("cap_", "", StringComparison.Ordinal)).ToList();
        return new ContainerIdentity(user, group, groups.Distinct().ToList(), dropped, context?.AllowPrivilegeEscalation == false, privileged);
    }

    /// <summary>The setpriv options that make a root process this identity.</summary>
    public IReadOnlyList<string> SetprivArguments()
    {
        var args = new List<string>();
        if (User is { } uid && uid != 0)
        {
            args.Add($"--reuid={uid}");
            args.Add($"--regid={Group ?? PrimaryGroupOf(uid)}");
        }
        else if (Group is { } gid)
        {
            args.Add($"--regid={gid}");
        }
        args.Add(Groups.Count > 0 ? $"--groups={string.Join(',', Groups)}" : "--clear-groups");
        if (DroppedCapabilities.Count > 0)
        {
            var caps = DroppedCapabilities.Contains("all") ? "-all" : string.Join(',', DroppedCapabilities.Select(c => "-" + c));
            args.Add($"--bounding-set={caps}");
            args.Add($"--inh-caps={caps}");
        }
        if (NoNewPrivileges) args.Add("--no-new-privs");
        return args;
    }

    /// <summary>HOME as the image's passwd would give it: this machine's passwd entry, else / (root: /root).</summary>
    public string Home()
    {
        var uid = User ?? 0;
        if (uid == 0) return "/root";
        return PasswdEntry(uid)?[5] ?? "/";
    }

    private static long PrimaryGroupOf(long uid) => PasswdEntry(uid) is { } entry && long.TryParse(entry[3], out var gid) ? gid : 0;

    private static string[]? PasswdEntry(long uid) =>
        File.ReadLines("/etc/passwd").Select(l => l.Split(':')).FirstOrDefault(f => f.Length > 6 && f[2] == uid.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
