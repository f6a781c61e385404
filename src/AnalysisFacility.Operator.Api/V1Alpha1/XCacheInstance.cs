namespace AnalysisFacility.Operator.Api.V1Alpha1;

[CustomResource(ApiGroup.Group, ApiGroup.Version, "XCacheInstance", "xcacheinstances",
    ShortNames = ["xc", "xcache"], Categories = [ApiGroup.Category],
    Description = "An XRootD proxy file cache (XCache) in front of an origin or redirector, with WLCG token authorization.")]
[PrinterColumn("Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status")]
[PrinterColumn("Replicas", "integer", ".status.readyReplicas")]
[PrinterColumn("Endpoint", "string", ".status.endpoint")]
[PrinterColumn("Origin", "string", ".spec.origin", Priority = 1)]
[PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
public sealed class XCacheInstance : CustomResource<XCacheInstanceSpec, XCacheInstanceStatus>
{
    public const string KindName = "XCacheInstance";
    public XCacheInstance() => Kind = KindName;
}

public sealed class XCacheInstanceSpec
{
    [Doc("Number of cache servers.")]
    [Default(1), Range(Minimum = 1, Maximum = 100)] public int Replicas { get; set; } = 1;

    [Doc("XRootD image (with the xrootd-scitokens plugin).")]
    [Default("opensciencegrid/xcache:23-release"), Pattern(Patterns.Image)] public string Image { get; set; } = "opensciencegrid/xcache:23-release";

    [Doc("Origin or redirector the cache reads from: root://host[:port].")]
    [Required, Pattern("^roots?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$")] public string Origin { get; set; } = "";

    [Doc("Paths exported through the cache (e.g. /store).")]
    [Default(new[] { "/store" }), Items(MinItems = 1, Unique = true)] public List<string> ExportedPaths { get; set; } = ["/store"];

    [Doc("Cache disk per replica (a PVC each).")]
    [Default("100Gi"), Pattern(Patterns.Quantity)] public string CacheSize { get; set; } = "100Gi";

    [Doc("StorageClass of the cache PVCs.")]
    public string? StorageClassName { get; set; }

    [Doc("RAM for the proxy file cache (pfc.ram); at least 1g.")]
    [Default("4g"), Pattern("^[0-9]+[kmgt]$")] public string Ram { get; set; } = "4g";

    [Doc("Disk usage watermarks (pfc.diskusage): purge starts above high and stops below low.")]
    public XCacheWatermarks Watermarks { get; set; } = new();

    [Doc("Block size (pfc.blocksize), e.g. 1m.")]
    [Default("1m"), Pattern("^[0-9]+[kmg]$")] public string BlockSize { get; set; } = "1m";

    [Doc("Blocks prefetched per file (pfc.prefetch), 0 disables prefetch.")]
    [Default(10), Range(Minimum = 0, Maximum = 128)] public int Prefetch { get; set; } = 10;

    [Doc("WLCG token authorization. Without it the cache allows anonymous reads.")]
    public XCacheAuthorization? Authorization { get; set; }

    [Doc("How the cache authenticates to its origin (token or x509 proxy); anonymous when unset.")]
    public XCacheOriginCredentials? OriginCredentials { get; set; }

    [Doc("Also serve HTTP(S) (XrdHttp) on this port.")]
    [Range(Minimum = 1, Maximum = 65535)] public int? HttpPort { get; set; }

    [Doc("Resources of the xrootd container.")]
    public ComputeResources? Resources { get; set; }
}

public sealed class XCacheWatermarks
{
    [Doc("Low watermark, a fraction of the disk (0 < low < high).")]
    [Default("0.90"), Pattern("^0?\\.[0-9]+$")] public string Low { get; set; } = "0.90";

    [Doc("High watermark, a fraction of the disk (low < high < 1).")]
    [Default("0.95"), Pattern("^0?\\.[0-9]+$")] public string High { get; set; } = "0.95";
}

public sealed class XCacheAuthorization
{
    [Doc("AnalysisFacility whose issuer (URL and audiences) the cache trusts; alternative to issuer/audiences.")]
    [Pattern(Patterns.DnsLabel)] public string? FacilityRef { get; set; }

    [Doc("Issuer URL trusted (when no facilityRef).")]
    [Pattern(Patterns.IssuerUrl)] public string? Issuer { get; set; }

    [Doc("Path in the namespace that token scopes are relative to (base_path).")]
    [Default("/"), Pattern(Patterns.AbsolutePath)] public string BasePath { get; set; } = "/";

    [Doc("Audiences accepted (when no facilityRef); the facility's audiences otherwise.")]
    public List<string> Audiences { get; set; } = [];
}

public sealed class XCacheInstanceStatus : ResourceStatus
{
    [Doc("Cache servers ready.")] public int? ReadyReplicas { get; set; }
    [Doc("root:// endpoint clients use.")] public string? Endpoint { get; set; }
}
