namespace AnalysisFacility.Operator.Api.V1Alpha1;

[CustomResource(ApiGroup.Group, ApiGroup.Version, "AnalysisFacility", "analysisfacilities",
    ShortNames = ["af", "facility"], Categories = [ApiGroup.Category],
    Description = "An analysis facility: JupyterHub, HTCondor pool, ServiceX, Triton, MLflow, the shared user store and the WLCG token issuer for its users.")]
[PrinterColumn("Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status")]
[PrinterColumn("Phase", "string", ".status.phase")]
[PrinterColumn("Hub", "string", ".status.endpoints.hub")]
[PrinterColumn("Issuer", "string", ".status.endpoints.issuer", Priority = 1)]
[PrinterColumn("Reason", "string", ".status.conditions[?(@.type==\"Ready\")].reason", Priority = 1)]
[PrinterColumn("Age", "date", ".metadata.creationTimestamp")]
public sealed class AnalysisFacility : CustomResource<AnalysisFacilitySpec, AnalysisFacilityStatus>
{
    public const string KindName = "AnalysisFacility";
    public AnalysisFacility() => Kind = KindName;
}

[Doc("Desired state of the facility. Every component has `enabled`; disabling one removes its objects (PVCs holding data are kept).")]
public sealed class AnalysisFacilitySpec
{
    [Doc("Base DNS domain of the facility (e.g. coffea.casa). Dask schedulers get tls://<name>.dask.<domain>:8786.")]
    [Pattern(Patterns.DnsSubdomain)] public string? Domain { get; set; }

    [Doc("The JupyterHub users log in to.")]
    public HubSpec Hub { get; set; } = new();

    [Doc("The WLCG token issuer the operator runs for this facility.")]
    [Required] public TokenIssuerSpec Tokens { get; set; } = new();

    [Doc("The HTCondor pool: central manager, schedd and execute nodes.")]
    [JsonPropertyName("htcondor")] public HTCondorSpec HTCondor { get; set; } = new();

    [Doc("ServiceX data delivery.")]
    public ServiceXSpec ServiceX { get; set; } = new();

    [Doc("NVIDIA Triton inference server.")]
    public TritonSpec Triton { get; set; } = new();

    [Doc("MLflow tracking server.")]
    public MlflowSpec Mlflow { get; set; } = new();

    [Doc("The shared user store: a BindFS-mapped host directory behind a PVC, mounted per user with subPath.")]
    public UserStoreSpec UserStore { get; set; } = new();

    [Doc("Rucio client configuration for sessions.")]
    public RucioSpec Rucio { get; set; } = new();

    [Doc("CVMFS at /cvmfs in sessions and Dask workers (CVMFS CSI driver).")]
    [JsonPropertyName("cvmfs")] public CvmfsSpec Cvmfs { get; set; } = new();

    [Doc("XCache used by sessions: the name of an XCacheInstance in this namespace.")]
    [JsonPropertyName("xcache")] public XCacheReference? XCache { get; set; }

    [Doc("The token gateway that guards MLflow and ServiceX.")]
    public AuthGatewaySpec AuthGateway { get; set; } = new();

    [Doc("Dask defaults inherited by UserSessions and DaskClusters of this facility.")]
    public DaskDefaults Dask { get; set; } = new();

    [Doc("Defaults for user session pods.")]
    public SessionDefaults Sessions { get; set; } = new();
}

public sealed class HubSpec
{
    [Doc("Run the hub.")]
    [Default(true)] public bool Enabled { get; set; } = true;

    [Doc("Hub container image (must contain jupyterhub 3 or 4 and, for OAuth login, oauthenticator 16; the operator's spawner needs nothing else).")]
    [Default("quay.io/jupyterhub/k8s-hub:3.3.8"), Pattern(Patterns.Image)] public string Image { get; set; } = "quay.io/jupyterhub/k8s-hub:3.3.8";

    [Doc("Public host name of the hub's Ingress (e.g. cmsaf-jh.unl.edu). No Ingress is made when empty.")]
    [Pattern(Patterns.DnsSubdomain)] public string? Host { get; set; }

    [Doc("Secret with the TLS certificate for the Ingress host.")]
    [Pattern(Patterns.DnsSubdomain)] public string? TlsSecretName { get; set; }

    [Doc("IngressClass used for the hub Ingress.")]
    public string? IngressClassName { get; set; }

    [Doc("How users log in.")]
    public HubAuthentication Authentication { get; set; } = new();

    [Doc("Hub user names with admin rights.")]
    [Items(Unique = true)] public List<string> AdminUsers { get; set; } = [];

    [Doc("Server profiles users choose from. The first one, or the one marked default, is used when none is chosen.")]
    [Items(MapKeys = ["name"])] public List<SessionProfile> Profiles { get; set; } = [];

    [Doc("Stop servers that have been idle.")]
    public CullingSpec Culling { get; set; } = new();

    [Doc("Resources of the hub container.")]
    public ComputeResources? Resources { get; set; }
}

public sealed class HubAuthentication
{
    [Doc("oauth: generic OAuth2/OIDC (e.g. CMS IAM, CILogon); dummy: any name logs in with the shared password (test instances only).")]
    [Default("oauth"), Enum("oauth", "dummy")] public string Type { get; set; } = "oauth";

    [Doc("Generic OAuth2/OIDC settings; required when type is oauth.")]
    [JsonPropertyName("oauth")] public OAuthSpec? OAuth { get; set; }

    [Doc("Secret key holding the shared password of the dummy authenticator (optional).")]
    public SecretKeyReference? DummyPasswordSecretRef { get; set; }
}

public sealed class OAuthSpec
{
    [Doc("Authorization endpoint, e.g. https://cms-auth.web.cern.ch/authorize.")]
    [Required, Pattern("^https?://.+")] public string AuthorizeUrl { get; set; } = "";

    [Doc("Token endpoint, e.g. https://cms-auth.web.cern.ch/token.")]
    [Required, Pattern("^https?://.+")] public string TokenUrl { get; set; } = "";

    [Doc("Userinfo endpoint, e.g. https://cms-auth.web.cern.ch/userinfo.")]
    [Required, Pattern("^https?://.+")] public string UserdataUrl { get; set; } = "";

    [Doc("OAuth callback URL registered with the identity provider; defaults to https://<hub.host>/hub/oauth_callback.")]
    [Pattern("^https?://.+")] public string? CallbackUrl { get; set; }

    [Doc("Scopes requested at login.")]
    [Default(new[] { "openid", "profile", "email" })] public List<string> Scopes { get; set; } = ["openid", "profile", "email"];

    [Doc("Claim of the userinfo response used as the hub user name.")]
    [Default("preferred_username")] public string UsernameClaim { get; set; } = "preferred_username";

    [Doc("Claim of the userinfo response holding the user's groups.")]
    [Default("groups")] public string GroupsClaim { get; set; } = "groups";

    [Doc("Only members of these groups may log in (all authenticated users when empty).")]
    public List<string> AllowedGroups { get; set; } = [];

    [Doc("Secret key holding the OAuth client id.")]
    [Required] public SecretKeyReference ClientIdSecretRef { get; set; } = new();

    [Doc("Secret key holding the OAuth client secret.")]
    [Required] public SecretKeyReference ClientSecretSecretRef { get; set; } = new();

    [Doc("ConfigMap (key ca.crt) with the CA that signed the identity provider's HTTPS certificate, when it is not publicly trusted: the hub and the operator (which refreshes the sessions' experiment tokens at tokenUrl) trust it.")]
    [Pattern(Patterns.DnsSubdomain)] public string? CaConfigMap { get; set; }
}

public sealed class SessionProfile
{
    [Doc("Profile name (used by UserSession.spec.profile).")]
    [Required, Pattern(Patterns.DnsLabel)] public string Name { get; set; } = "";

    [Doc("Name shown on the spawn page.")]
    public string? DisplayName { get; set; }

    [Doc("Description shown on the spawn page.")]
    public string? Description { get; set; }

    [Doc("Notebook image.")]
    [Required, Pattern(Patterns.Image)] public string Image { get; set; } = "";

    [Doc("CPU cores of the notebook container.")]
    [Default("2"), Pattern(Patterns.Quantity)] public string Cores { get; set; } = "2";

    [Doc("Memory of the notebook container.")]
    [Default("4Gi"), Pattern(Patterns.Quantity)] public string Memory { get; set; } = "4Gi";

    [Doc("NVIDIA GPUs of the notebook container.")]
    [Default(0), Range(Minimum = 0, Maximum = 16)] public int Gpus { get; set; }

    [Doc("Preselect this profile.")]
    public bool Default { get; set; }
}

public sealed class CullingSpec
{
    [Doc("Stop idle servers.")]
    [Default(true)] public bool Enabled { get; set; } = true;

    [Doc("A server idle this long is stopped (duration: 1h, 90m).")]
    [Default("1h"), Pattern(Patterns.Duration)] public string Timeout { get; set; } = "1h";

    [Doc("How often idleness is checked.")]
    [Default("10m"), Pattern(Patterns.Duration)] public string Every { get; set; } = "10m";

    [Doc("A server older than this is stopped even when active (0s: never).")]
    [Default("0s"), Pattern(Patterns.Duration)] public string MaxAge { get; set; } = "0s";
}

public sealed class TokenIssuerSpec
{
    [Doc("Issuer URL: HTTPS, no trailing slash. Consumers compare it as an exact string; discovery is served at {issuer}/.well-known/openid-configuration.")]
    [Required, Pattern(Patterns.IssuerUrl)] public string Issuer { get; set; } = "";

    [Doc("Signing algorithm: ES256 (P-256, default) or RS256.")]
    [Default("ES256"), Enum("ES256", "RS256")] public string Algorithm { get; set; } = "ES256";

    [Doc("RSA modulus size for RS256.")]
    [Default(3072), Range(Minimum = 2048, Maximum = 8192)] public int RsaKeySize { get; set; } = 3072;

    [Doc("Access token lifetime, within the WLCG profile's bounds: 15m to 6h.")]
    [Default("1h"), Pattern(Patterns.Duration)] public string Lifetime { get; set; } = "1h";

    [Doc("Audiences of every token (the XCache and schedd audiences). Every consumer the facility configures lists the same ones.")]
    [Items(Unique = true, MaxItems = 16)] public List<string> Audiences { get; set; } = [];

    [Doc("Use the WLCG 'any' audience (https://wlcg.cern.ch/jwt/v1/any) instead of the list.")]
    public bool AllowAnyAudience { get; set; }

    [Doc("Scopes granted to users; {user} is replaced by the user's store name.")]
    public ScopePolicySpec ScopePolicy { get; set; } = new();

    [Doc("Signing key rotation.")]
    public KeyRotationSpec Rotation { get; set; } = new();

    [Doc("Other issuers whose tokens the facility accepts (e.g. the experiment's IAM): the schedd maps their subjects to pool identities and XCache authorizes their storage scopes.")]
    [Items(MapKeys = ["name"], MaxItems = 16)] public List<TrustedIssuerSpec> TrustedIssuers { get; set; } = [];

    [Doc("Which token a session's BEARER_TOKEN_FILE (and the discovery files $XDG_RUNTIME_DIR/bt_u$UID, /tmp/bt_u$UID) holds: 'facility', minted by this issuer, or 'experiment', the login's access token from the experiment's identity provider (hub authentication oauth), which the operator refreshes with the login's refresh token. Both are offered as files: FACILITY_TOKEN_FILE and EXPERIMENT_TOKEN_FILE. HTCondor always uses the facility token.")]
    [Default("facility"), Enum("facility", "experiment")] public string SessionToken { get; set; } = "facility";

    [Doc("Robot clients (CI pipelines) that get tokens from this issuer with the OAuth2 client-credentials grant at {issuer}/token.")]
    [Items(MapKeys = ["clientId"], MaxItems = 64)] public List<RobotClientSpec> Robots { get; set; } = [];
}

public sealed class TrustedIssuerSpec
{
    [Doc("Name of the entry (used in generated configuration sections).")]
    [Required, Pattern(Patterns.DnsLabel)] public string Name { get; set; } = "";

    [Doc("Issuer URL exactly as its tokens carry it in 'iss' (IAM issuers end with '/', e.g. https://cms-auth.web.cern.ch/).")]
    [Required, Pattern(Patterns.TrustedIssuerUrl)] public string Issuer { get; set; } = "";

    [Doc("Audiences this issuer's tokens carry for the facility; added to what the schedd and XCache accept.")]
    [Items(Unique = true, MaxItems = 16)] public List<string> Audiences { get; set; } = [];

    [Doc("Path the issuer's storage scopes are relative to in XCache (base_path of its scitokens section).")]
    [Default("/"), Pattern(Patterns.AbsolutePath)] public string BasePath { get; set; } = "/";

    [Doc("Which subjects may use the pool, and as whom. Subjects not listed are refused by the schedd (HTCondor maps SCITOKENS by issuer and subject only).")]
    [Items(MapKeys = ["subject"], MaxItems = 256)] public List<SubjectMapping> Mappings { get; set; } = [];
}

public sealed class SubjectMapping
{
    [Doc("The token's 'sub' claim, matched exactly (for a client-credentials token, usually the client id).")]
    [Required, Pattern(Patterns.TokenSubject)] public string Subject { get; set; } = "";

    [Doc("Pool identity (job Owner) the subject acts as. Jobs of different identities cannot touch each other; reserved: root, condor, condor_pool, nobody.")]
    [Required, Pattern(Patterns.PoolIdentity)] public string Identity { get; set; } = "";
}

public sealed class RobotClientSpec
{
    [Doc("OAuth2 client id the robot authenticates with (HTTP Basic or client_id form field).")]
    [Required, Pattern(Patterns.ClientId)] public string ClientId { get; set; } = "";

    [Doc("Secret key holding the client secret's hash: 'sha256:<hex>' of the secret (make it with: printf %s \"$SECRET\" | sha256sum). The secret itself is never stored.")]
    [Required] public SecretKeyReference SecretHashRef { get; set; } = new();

    [Doc("Scopes the robot may ask for (it gets all of them when it asks for none), e.g. compute.create compute.read storage.read:/store.")]
    [Items(Unique = true, MinItems = 1, MaxItems = 32)] public List<string> Scopes { get; set; } = [];

    [Doc("Lifetime of the robot's tokens, within the WLCG profile's bounds: 15m to 6h.")]
    [Default("20m"), Pattern(Patterns.Duration)] public string Lifetime { get; set; } = "20m";

    [Doc("Pool identity (job Owner) of the robot's jobs; robot-<clientId> when empty.")]
    [Pattern(Patterns.PoolIdentity)] public string? Identity { get; set; }
}

public sealed class ScopePolicySpec
{
    [Doc("Scopes every user gets.")]
    [Default(new[] { "storage.read:/store", "storage.create:/store/user/{user}", "storage.modify:/store/user/{user}", "compute.read", "compute.create", "compute.modify", "compute.cancel" })]
    public List<string> Default { get; set; } =
        ["storage.read:/store", "storage.create:/store/user/{user}", "storage.modify:/store/user/{user}", "compute.read", "compute.create", "compute.modify", "compute.cancel"];

    [Doc("Extra scopes for members of a group.")]
    [Items(MapKeys = ["group"])] public List<GroupScopes> Groups { get; set; } = [];
}

public sealed class GroupScopes
{
    [Doc("WLCG group, e.g. /cms/higgs.")]
    [Required, Pattern(Patterns.WlcgGroup)] public string Group { get; set; } = "";

    [Doc("Scopes added for members.")]
    public List<string> Scopes { get; set; } = [];
}

public sealed class KeyRotationSpec
{
    [Doc("A new signing key takes over after this period.")]
    [Default("720h"), Pattern(Patterns.Duration)] public string Period { get; set; } = "720h";

    [Doc("A new key is published in the JWKS this long before it signs anything, so consumers' key caches know it.")]
    [Default("96h"), Pattern(Patterns.Duration)] public string PublishLeadTime { get; set; } = "96h";

    [Doc("How long consumers may cache the JWKS; a retired key stays published until its last token expired plus this time.")]
    [Default("96h"), Pattern(Patterns.Duration)] public string KeyCacheTime { get; set; } = "96h";
}

public sealed class HTCondorSpec
{
    [Doc("Run the HTCondor pool.")]
    [Default(true)] public bool Enabled { get; set; } = true;

    [Doc("Image with HTCondor (24.0 series; the configuration is checked against 24.0) for all pool daemons. Its condor account must be uid/gid 64 as in the htcondor/base images.")]
    [Default("htcondor/base:24.0-el9"), Pattern(Patterns.Image)] public string Image { get; set; } = "htcondor/base:24.0-el9";

    [Doc("Central manager (collector + negotiator).")]
    public HTCondorDaemonSpec CentralManager { get; set; } = new();

    [Doc("Schedd users submit to.")]
    public ScheddSpec Schedd { get; set; } = new();

    [Doc("Execute nodes (startd).")]
    public ExecuteSpec Execute { get; set; } = new();

    [Doc("Expose the collector and schedd outside the cluster (each through its shared port) for laptops and CI.")]
    public HTCondorExternalSpec? External { get; set; }
}

public sealed class HTCondorExternalSpec
{
    [Doc("Public DNS name clients outside use for both the collector and the schedd; it must resolve inside the cluster too (daemons advertise it). Put in the SSL certificates and accepted as schedd audience <host>:<scheddPort>.")]
    [Required, Pattern(Patterns.DnsSubdomain)] public string Host { get; set; } = "";

    [Doc("Service type: LoadBalancer (host points at the load balancer) or NodePort (host points at the nodes; ports must lie in the node port range, 30000-32767 by default).")]
    [Default("LoadBalancer"), Enum("LoadBalancer", "NodePort")] public string ServiceType { get; set; } = "LoadBalancer";

    [Doc("Port of the collector, inside and outside (HTCondor advertises the port it listens on).")]
    [Default(9618), Range(Minimum = 1024, Maximum = 65535)] public int CollectorPort { get; set; } = 9618;

    [Doc("Port of the schedd, inside and outside.")]
    [Default(9619), Range(Minimum = 1024, Maximum = 65535)] public int ScheddPort { get; set; } = 9619;

    [Doc("Annotations of the two Services (e.g. for the cloud load balancer or external-dns).")]
    public Dictionary<string, string> Annotations { get; set; } = [];
}

public sealed class HTCondorDaemonSpec
{
    [Doc("Resources of the daemon container.")]
    public ComputeResources? Resources { get; set; }
}

public sealed class ScheddSpec
{
    [Doc("Resources of the schedd container.")]
    public ComputeResources? Resources { get; set; }

    [Doc("Size of the spool PVC.")]
    [Default("10Gi"), Pattern(Patterns.Quantity)] public string SpoolSize { get; set; } = "10Gi";

    [Doc("StorageClass of the spool PVC (cluster default when empty).")]
    public string? StorageClassName { get; set; }

    [Doc("Keep the spool PVC when the schedd is disabled or the facility deleted.")]
    [Default(true)] public bool RetainSpool { get; set; } = true;

    [Doc("Token audience the schedd accepts (SCITOKENS_SERVER_AUDIENCE); defaults to <schedd service>.<namespace>:9618 and is added to the issuer's audiences.")]
    public string? Audience { get; set; }
}

public sealed class ExecuteSpec
{
    [Doc("Number of execute pods.")]
    [Default(1), Range(Minimum = 0, Maximum = 10000)] public int Replicas { get; set; } = 1;

    [Doc("Cores and memory of each execute pod, advertised as one partitionable slot.")]
    public ComputeResources? Resources { get; set; }

    [Doc("Advertise one partitionable slot per node (true) or static slots (false).")]
    [Default(true)] public bool PartitionableSlots { get; set; } = true;
}

public sealed class ServiceXSpec
{
    [Doc("Run ServiceX.")]
    [Default(false)] public bool Enabled { get; set; }

    [Doc("Tag of the ServiceX images (sslhep/servicex_app, servicex_did_finder_*, servicex_code_gen_*).")]
    [Default("v1.5.6"), Pattern("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")] public string ImageTag { get; set; } = "v1.5.6";

    [Doc("Public host of ServiceX's Ingress.")]
    [Pattern(Patterns.DnsSubdomain)] public string? Host { get; set; }

    [Doc("DID finders to run.")]
    [Default(new[] { "rucio", "cernopendata" })] public List<string> DidFinders { get; set; } = ["rucio", "cernopendata"];

    [Doc("Code generators to run.")]
    [Default(new[] { "uproot" })] public List<string> CodeGenerators { get; set; } = ["uproot"];

    [Doc("ServiceX's own user authentication (ENABLE_AUTH: Globus sign-in, ServiceX-issued API tokens, new users pending until an admin approves them) instead of the facility token gateway. Session clients then need the servicex.yaml from ServiceX's profile page, and BEARER_TOKEN_FILE unset for ServiceX, since the client prefers that token.")]
    [Default(false)] public bool AuthEnabled { get; set; }

    [Doc("Admin e-mail for ServiceX's own authentication (JWT_ADMIN): the first user signing up with it becomes admin.")]
    public string? AdminEmail { get; set; }

    [Doc("Secret with keys globusClientID and globusClientSecret (the Globus app ServiceX signs users in with); required with authEnabled.")]
    [Pattern(Patterns.DnsSubdomain)] public string? GlobusCredentialsSecret { get; set; }

    [Doc("Lifetime of ServiceX access tokens in seconds (JWT_ACCESS_TOKEN_EXPIRES), with authEnabled.")]
    [Default(21600), Range(Minimum = 60, Maximum = 604800)] public int AccessTokenLifetimeSeconds { get; set; } = 21600;

    [Doc("What the Rucio DID finder needs beyond spec.rucio (server and auth hosts).")]
    public ServiceXRucioFinderSpec RucioFinder { get; set; } = new();

    [Doc("Use an existing PostgreSQL instead of creating one: Secret key holding the SQLAlchemy URI.")]
    public SecretKeyReference? ExternalDatabaseUriSecretRef { get; set; }

    [Doc("Use an existing S3 object store instead of creating MinIO.")]
    public ObjectStoreReference? ExternalObjectStore { get; set; }
}

public sealed class ObjectStoreReference
{
    [Doc("S3 endpoint host[:port].")]
    [Required] public string Endpoint { get; set; } = "";

    [Doc("Use HTTPS.")]
    public bool Secure { get; set; }

    [Doc("Secret with keys accessKey and secretKey.")]
    [Required, Pattern(Patterns.DnsSubdomain)] public string CredentialsSecret { get; set; } = "";
}

public sealed class TritonSpec
{
    [Doc("Run Triton.")]
    [Default(false)] public bool Enabled { get; set; }

    [Doc("Triton server image.")]
    [Default("nvcr.io/nvidia/tritonserver:24.08-py3"), Pattern(Patterns.Image)] public string Image { get; set; } = "nvcr.io/nvidia/tritonserver:24.08-py3";

    [Doc("Number of Triton pods.")]
    [Default(1), Range(Minimum = 0, Maximum = 64)] public int Replicas { get; set; } = 1;

    [Doc("Resources of the Triton container (GPUs as nvidia.com/gpu).")]
    public ComputeResources? Resources { get; set; }

    [Doc("Model repository in an S3 bucket; required when enabled.")]
    public S3BucketSpec? ModelRepository { get; set; }

    [Doc("Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY that users load models into the bucket with (given to sessions); must not be the server's modelRepository.credentialsSecret, which needs only read access.")]
    [Pattern(Patterns.DnsSubdomain)] public string? UserCredentialsSecret { get; set; }
}

public sealed class S3BucketSpec
{
    [Doc("S3 host, e.g. rook-ceph-rgw-my-store.rook-ceph.svc.")]
    [Required] public string Host { get; set; } = "";

    [Doc("S3 port.")]
    [Default(80), Range(Minimum = 1, Maximum = 65535)] public int Port { get; set; } = 80;

    [Doc("Bucket name.")]
    [Required, Pattern("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")] public string Bucket { get; set; } = "";

    [Doc("Use HTTPS.")]
    public bool Secure { get; set; }

    [Doc("Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.")]
    [Required, Pattern(Patterns.DnsSubdomain)] public string CredentialsSecret { get; set; } = "";
}

public sealed class MlflowSpec
{
    [Doc("Run MLflow.")]
    [Default(false)] public bool Enabled { get; set; }

    [Doc("MLflow image; it must have the PostgreSQL driver and boto3 (the -full images from MLflow 3.9.0 on have both, the plain ones neither: mlflow/mlflow docker/README.md, issue 9513).")]
    [Default("ghcr.io/mlflow/mlflow:v3.9.0-full"), Pattern(Patterns.Image)] public string Image { get; set; } = "ghcr.io/mlflow/mlflow:v3.9.0-full";

    [Doc("Public host of the MLflow Ingress.")]
    [Pattern(Patterns.DnsSubdomain)] public string? Host { get; set; }

    [Doc("Backend store: a PostgreSQL the operator creates, or an existing one.")]
    public MlflowBackendStore BackendStore { get; set; } = new();

    [Doc("Artifact store in S3; required when enabled.")]
    public S3BucketSpec? ArtifactStore { get; set; }
}

public sealed class MlflowBackendStore
{
    [Doc("Secret key holding an existing database URI (postgresql://...). A PostgreSQL is created when empty.")]
    public SecretKeyReference? ExternalUriSecretRef { get; set; }

    [Doc("Size of the created PostgreSQL's PVC.")]
    [Default("5Gi"), Pattern(Patterns.Quantity)] public string StorageSize { get; set; } = "5Gi";

    [Doc("Keep the created database's PVC when MLflow is disabled or the facility deleted.")]
    [Default(true)] public bool RetainStorage { get; set; } = true;
}

public sealed class UserStoreSpec
{
    [Doc("Provide the shared user store.")]
    [Default(false)] public bool Enabled { get; set; }

    [Doc("Host directory holding the store (e.g. a Ceph mount such as /tier2/cms/store/user).")]
    [Pattern(Patterns.AbsolutePath)] public string? SourcePath { get; set; }

    [Doc("Host directory where BindFS exposes the mapped view (e.g. /mnt/cms/store/user).")]
    [Pattern(Patterns.AbsolutePath)] public string? TargetPath { get; set; }

    [Doc("BindFS image.")]
    [Default("ghcr.io/analysisfacility/bindfs:1.17"), Pattern(Patterns.Image)] public string BindfsImage { get; set; } = "ghcr.io/analysisfacility/bindfs:1.17";

    [Doc("Ownership mapping applied by BindFS.")]
    public StoreOwnership Ownership { get; set; } = new();

    [Doc("Capacity declared on the PV/PVC.")]
    [Default("100Ti"), Pattern(Patterns.Quantity)] public string Capacity { get; set; } = "100Ti";

    [Doc("Name of the PVC (cms-store style).")]
    [Default("user-store"), Pattern(Patterns.DnsLabel)] public string ClaimName { get; set; } = "user-store";

    [Doc("Where the user's directory is mounted in session pods.")]
    [Default("/mnt/data"), Pattern(Patterns.AbsolutePath)] public string MountPath { get; set; } = "/mnt/data";

    [Doc("Directory mounted read-only for users without a store directory.")]
    [Default("nobody"), Pattern(Patterns.StoreName)] public string NobodyDirectory { get; set; } = "nobody";

    [Doc("Map users to store directories; the store name is also substituted for {user} in token scopes.")]
    [Items(MapKeys = ["user"])] public List<StoreUserMapping> Users { get; set; } = [];

    [Doc("Derive the store name from the user's e-mail local part when no mapping entry exists (as Coffea-casa's user_to_cmsuser).")]
    [Default(false)] public bool MapByEmailLocalPart { get; set; }

    [Doc("Keep the PV/PVC when the store is disabled or the facility deleted. Store data is never deleted by the operator.")]
    [Default(true)] public bool RetainClaim { get; set; } = true;
}

public sealed class StoreOwnership
{
    [Doc("BindFS --force-user (uid or name) for files seen through the mapping.")]
    [Default("1000")] public string ForceUser { get; set; } = "1000";

    [Doc("BindFS --force-group.")]
    [Default("100")] public string ForceGroup { get; set; } = "100";

    [Doc("BindFS --perms, e.g. u=rwX:g=rwX:o=rX.")]
    [Default("u=rwX:g=rwX:o=rX"), Pattern("^[ugoa]*[=+-][rwxXD]*(:[ugoa]*[=+-][rwxXD]*)*$")] public string Perms { get; set; } = "u=rwX:g=rwX:o=rX";
}

public sealed class StoreUserMapping
{
    [Doc("Hub user name (e.g. e-mail).")]
    [Required, Pattern(Patterns.UserName)] public string User { get; set; } = "";

    [Doc("Directory name in the store (e.g. the CMS user name).")]
    [Required, Pattern(Patterns.StoreName)] public string StoreName { get; set; } = "";

    [Doc("Other hub users who may mount this directory (read-write) by naming it in UserSession.spec.storeName; nobody else may.")]
    [Items(Unique = true, MaxItems = 256)] public List<string> SharedWith { get; set; } = [];
}

public sealed class XCacheReference
{
    [Doc("Name of the XCacheInstance.")]
    [Required, Pattern(Patterns.DnsLabel)] public string Name { get; set; } = "";
}

public sealed class DaskDefaults
{
    [Doc("Worker (and scheduler) image.")]
    [Default("ghcr.io/dask/dask:2024.8.2-py3.11"), Pattern(Patterns.Image)] public string WorkerImage { get; set; } = "ghcr.io/dask/dask:2024.8.2-py3.11";

    [Doc("Cores per worker.")]
    [Default("2"), Pattern(Patterns.Quantity)] public string WorkerCores { get; set; } = "2";

    [Doc("Memory per worker.")]
    [Default("6Gi"), Pattern(Patterns.Quantity)] public string WorkerMemory { get; set; } = "6Gi";

    [Doc("Most workers one user's cluster may scale to.")]
    [Default(50), Range(Minimum = 1, Maximum = 10000)] public int MaxWorkersPerCluster { get; set; } = 50;

    [Doc("IngressClass / TCP router for external scheduler addresses (tls://<name>.dask.<domain>:8786, SNI routed).")]
    [Default("traefik")] public string TcpIngressClass { get; set; } = "traefik";

    [Doc("The Dask cluster of a session whose spec says nothing about Dask, such as every session the hub starts at a login (as Coffea-casa gives each user a cluster). Unset: such sessions have none; a session's own spec.dask always wins.")]
    public SessionDask? Sessions { get; set; }
}

public sealed class SessionDefaults
{
    [Doc("Notebook image used when no profile is chosen.")]
    [Default("coffeateam/coffea-casa-analysis:latest"), Pattern(Patterns.Image)] public string Image { get; set; } = "coffeateam/coffea-casa-analysis:latest";

    [Doc("uid session containers run as.")]
    [Default(1000), Range(Minimum = 1, Maximum = 2147483647)] public long RunAsUser { get; set; } = 1000;

    [Doc("fsGroup of session pods.")]
    [Default(100), Range(Minimum = 1, Maximum = 2147483647)] public long FsGroup { get; set; } = 100;

    [Doc("Image of the token init container and refresher sidecar (needs sh and kubectl-free coreutils only).")]
    [Default("busybox:1.36"), Pattern(Patterns.Image)] public string TokenHelperImage { get; set; } = "busybox:1.36";

    [Doc("Isolate session pods with a NetworkPolicy that allows only the facility's services, DNS and the outside world.")]
    [Default(true)] public bool NetworkPolicy { get; set; } = true;

    [Doc("Most NVIDIA GPUs one session may ask for (profiles included); 0 for a facility whose nodes have no GPUs. No limit when unset.")]
    [Range(Minimum = 0, Maximum = 16)] public int? MaxGpus { get; set; }
}

public sealed class AnalysisFacilityStatus : ResourceStatus
{
    [Doc("Endpoints an admin needs.")]
    public FacilityEndpoints Endpoints { get; set; } = new();

    [Doc("Key ids (RFC 7638 thumbprints) currently published in the JWKS, newest first.")]
    public List<string> PublishedKeyIds { get; set; } = [];

    [Doc("Key id that signs new tokens.")]
    public string? ActiveKeyId { get; set; }
}

public sealed class FacilityEndpoints
{
    [Doc("URL of the hub.")] public string? Hub { get; set; }
    [Doc("Token issuer URL.")] public string? Issuer { get; set; }
    [Doc("HTCondor collector host:port.")] public string? Collector { get; set; }
    [Doc("HTCondor schedd name (SCHEDD_HOST for clients).")] public string? Schedd { get; set; }
    [Doc("HTCondor collector host:port for clients outside the cluster (spec.htcondor.external).")] public string? ExternalCollector { get; set; }
    [Doc("ConfigMap (key ca.crt) with the CA that signed the collector's and schedd's SSL certificates (AUTH_SSL_CLIENT_CAFILE).")] public string? CondorCaConfigMap { get; set; }
    [Doc("Token endpoint of the issuer for robot clients (client-credentials grant).")] public string? TokenEndpoint { get; set; }
    [Doc("ServiceX URL.")] public string? ServiceX { get; set; }
    [Doc("MLflow tracking URI.")] public string? Mlflow { get; set; }
    [Doc("Triton HTTP URL.")] public string? Triton { get; set; }
    [Doc("XCache root:// endpoint.")][JsonPropertyName("xcache")] public string? XCache { get; set; }
}
