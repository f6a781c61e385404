using AnalysisFacility.Operator.Builders.Common;

namespace AnalysisFacility.Operator.Builders.Sessions;

/// <summary>
/// Names of a session and of the objects it owns. The spawner (analysisfacility_spawner.py) implements
/// <see cref="ForUser"/> identically, so the hub and the operator agree on which UserSession belongs to whom.
/// </summary>
public static class SessionNames
{
    /// <summary>Name of the UserSession of a hub user: "alice" stays "alice"; "sam.albin@unl.edu" becomes "sam-albin-unl-edu-&lt;hash&gt;".</summary>
    public static string ForUser(string userName) => Names.Object(userName);

    /// <summary>Pod, Service, ServiceAccount and NetworkPolicy of the session (starts with a letter, as Service names must).</summary>
    public static string Server(string sessionName) => Names.Object("jupyter", sessionName);

    /// <summary>ConfigMap with the client configuration.</summary>
    public static string ClientConfig(string sessionName) => Names.Object("jupyter", sessionName, "client");

    /// <summary>The session's DaskCluster.</summary>
    public static string DaskCluster(string sessionName) => Names.Object(sessionName, "dask");
}
