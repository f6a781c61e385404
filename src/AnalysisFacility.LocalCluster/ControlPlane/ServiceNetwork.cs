using System.Net;

namespace AnalysisFacility.LocalCluster.ControlPlane;

/// <summary>IPv4 CIDR arithmetic for the Service and pod ranges.</summary>
public static class ServiceNetwork
{
    /// <summary>The first usable address of <paramref name="cidr"/> (the API server gives it to the `kubernetes` Service).</summary>
    public static IPAddress FirstAddress(string cidr) => Offset(cidr, 1);

    /// <summary>The address <paramref name="offset"/> positions into <paramref name="cidr"/>.</summary>
    public static IPAddress Offset(string cidr, int offset)
    {
        var (network, prefix) = Parse(cidr);
        if (offset < 0 || (prefix < 32 && offset >= 1L << (32 - prefix))) throw new ArgumentOutOfRangeException(nameof(offset), $"{offset} is outside {cidr}");
        var value = ToUInt(network) + (uint)offset;
        return new IPAddress([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);
    }

    public static (IPAddress Network, int Prefix) Parse(string cidr)
    {
        var slash = cidr.IndexOf('/');
        if (slash < 0 || !IPAddress.TryParse(cidr[..slash], out var address) || !int.TryParse(cidr[(slash + 1)..], out var prefix) || prefix is < 8 or > 30)
        {
            throw new FormatException($"'{cidr}' is not an IPv4 CIDR with a prefix between /8 and /30");
        }
        var mask = prefix == 0 ? 0u : uint.MaxValue << (32 - prefix);
        var value = ToUInt(address) & mask;
        return (new IPAddress([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]), prefix);
    }

    private static uint ToUInt(IPAddress address)
    {
        var b = address.GetAddressBytes();
        return (uint)(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
    }
}
