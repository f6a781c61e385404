namespace AnalysisFacility.Operator.Api.V1Alpha1;

[Doc("CVMFS repositories at /cvmfs in sessions and Dask workers, through the CVMFS CSI driver (cvmfs.csi.cern.ch, cvmfs-contrib/cvmfs-csi v2).")]
public sealed class CvmfsSpec
{
    [Doc("Mount CVMFS.")]
    public bool Enabled { get; set; }

    [Doc("StorageClass of the CVMFS CSI driver (provisioner cvmfs.csi.cern.ch), installed by the admin with the driver's Helm chart.")]
    [Default("cvmfs"), Pattern(Patterns.DnsSubdomain)] public string StorageClassName { get; set; } = "cvmfs";

    [Doc("Repositories users need (e.g. cms.cern.ch); each is automounted on first access under /cvmfs. Informational: the driver mounts any repository its configuration allows.")]
    public List<string> Repositories { get; set; } = [];
}
