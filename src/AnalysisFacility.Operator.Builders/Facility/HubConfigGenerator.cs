using System.Text;
using AnalysisFacility.Operator.Api.V1Alpha1;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Builders.Facility;

/// <summary>Where and how the generated hub runs: in the cluster (proxy sidecar) or locally (tests, development).</summary>
public sealed record HubRuntime
{
    /// <summary>Public URL the proxy listens on (JupyterHub.bind_url).</summary>
    public required string BindUrl { get; init; }

    /// <summary>Where the hub's own server listens (JupyterHub.hub_bind_url).</summary>
    public required string HubBindUrl { get; init; }

    /// <summary>How spawned servers and services reach the hub (JupyterHub.hub_connect_url); hub_bind_url when null.</summary>
    public string? HubConnectUrl { get; init; }

    /// <summary>False in the cluster: configurable-http-proxy runs as a sidecar container.</summary>
    public bool HubStartsProxy { get; init; }

    /// <summary>REST API of the proxy (ConfigurableHTTPProxy.api_url).</summary>
    public required string ProxyApiUrl { get; init; }

    public required string DatabaseUrl { get; init; }

    /// <summary>Spawner class; null means the operator's UserSession spawner.</summary>
    public string? SpawnerClassOverride { get; init; }

    /// <summary>Command of the idle-culler service; the culler's options are appended.</summary>
    public IReadOnlyList<string> IdleCullerCommand { get; init; } = ["python3", "-m", "jupyterhub_idle_culler"];

    /// <summary>The facility the spawner creates UserSessions for.</summary>
    public required string FacilityName { get; init; }
    public required string FacilityNamespace { get; init; }

    public const string ConfigDirectory = "/usr/local/etc/jupyterhub";
    public const string SpawnerModuleDirectory = "/usr/local/etc/jupyterhub/spawner";
    public const string DataDirectory = "/srv/jupyterhub/data";
    /// <summary>Where the hub container mounts spec.hub.authentication.oauth.caConfigMap (key ca.crt).</summary>
    public const string IdentityProviderCaDirectory = "/usr/local/etc/jupyterhub/identity-provider-ca";
    public const int HubPort = 8081;
    public const int ProxyPublicPort = 8000;
    public const int ProxyApiPort = 8001;

    public static HubRuntime InCluster(FacilityResource facility)
    {
        var names = new FacilityNames(facility.Metadata.Name);
        return new HubRuntime
        {
            BindUrl = $"http://:{ProxyPublicPort}",
            HubBindUrl = $"http://0.0.0.0:{HubPort}",
            HubConnectUrl = $"http://{names.Hub}.{facility.Metadata.NamespaceProperty}.svc:{HubPort}",
            HubStartsProxy = false,
            ProxyApiUrl = $"http://127.0.0.1:{ProxyApiPort}",
            DatabaseUrl = $"sqlite:///{DataDirectory}/jupyterhub.sqlite",
            FacilityName = facility.Metadata.Name,
            FacilityNamespace = facility.Metadata.NamespaceProperty,
        };
    }

    /// <summary>
    /// A hub on loopback that starts its own proxy (configurable-http-proxy must be installed), for tests and
    /// development. The UserSession spawner needs the operator, so a local spawner class may be swapped in.
    /// </summary>
    public static HubRuntime LocalRun(FacilityResource facility, int publicPort, int hubPort, int proxyApiPort,
        string dataDirectory, string? spawnerClass, IReadOnlyList<string> idleCullerCommand) => new()
    {
        BindUrl = $"http://127.0.0.1:{publicPort}",
        HubBindUrl = $"http://127.0.0.1:{hubPort}",
        HubStartsProxy = true,
        ProxyApiUrl = $"http://127.0.0.1:{proxyApiPort}",
        DatabaseUrl = $"sqlite:///{Path.Combine(dataDirectory, "jupyterhub.sqlite")}",
        SpawnerClassOverride = spawnerClass,
        IdleCullerCommand = idleCullerCommand,
        FacilityName = facility.Metadata.Name,
        FacilityNamespace = facility.Metadata.NamespaceProperty,
    };
}

/// <summary>
/// Generates <c>jupyterhub_config.py</c> for a facility. Every trait set here exists under the same name in JupyterHub
/// 3.0 (Debian's, which the tests load the config with) and 4.1 (the k8s-hub:3.3.8 image); DummyAuthenticator.password
/// is gone in JupyterHub 5. The UserSessionSpawner traits are the spawner module's (a test fails on any the class lacks).
/// </summary>
public static class HubConfigGenerator
{
    public const string SpawnerClass = "analysisfacility_spawner.UserSessionSpawner";
    public const string GenericOAuthenticatorClass = "oauthenticator.generic.GenericOAuthenticator";
    public const string DummyAuthenticatorClass = "jupyterhub.auth.DummyAuthenticator";
    public const string IdleCullerServiceName = "idle-culler";

    /// <summary>Environment variables the config reads (fed from Secrets in the cluster).</summary>
    public const string ClientIdVariable = "OAUTH_CLIENT_ID";
    public const string ClientSecretVariable = "OAUTH_CLIENT_SECRET";
    public const string DummyPasswordVariable = "HUB_DUMMY_PASSWORD";
    public const string FacilityNameVariable = "AF_FACILITY_NAME";
    public const string FacilityNamespaceVariable = "AF_FACILITY_NAMESPACE";
    /// <summary>JupyterHub's own variable for the auth_state encryption key(s) (jupyterhub/crypto.py KEY_ENV).</summary>
    public const string CryptKeyVariable = "JUPYTERHUB_CRYPT_KEY";

    /// <summary>Scopes jupyterhub-idle-culler needs (its README): list users, see activity, stop servers.</summary>
    public static readonly IReadOnlyList<string> IdleCullerScopes = ["list:users", "read:users:activity", "read:servers", "delete:servers"];

    public static string Generate(FacilityResource facility, HubRuntime runtime)
    {
        var hub = facility.Spec.Hub;
        var config = new StringBuilder();
        config.AppendLine($"# jupyterhub_config.py for AnalysisFacility {facility.Metadata.NamespaceProperty}/{facility.Metadata.Name}.");
        config.AppendLine("# Generated by analysisfacility-operator; edits are overwritten on the next reconcile.");
        config.AppendLine("import os");
        config.AppendLine();
        config.AppendLine("c = get_config()  # noqa: F821");
        config.AppendLine();
        config.AppendLine("# Network: the proxy serves users, the hub's API is reached by spawned servers and services.");
        Python.Assign(config, "JupyterHub.bind_url", runtime.BindUrl);
        Python.Assign(config, "JupyterHub.hub_bind_url", runtime.HubBindUrl);
        if (runtime.HubConnectUrl is not null) Python.Assign(config, "JupyterHub.hub_connect_url", runtime.HubConnectUrl);
        Python.Assign(config, "ConfigurableHTTPProxy.should_start", runtime.HubStartsProxy);
        Python.Assign(config, "ConfigurableHTTPProxy.api_url", runtime.ProxyApiUrl);
        Python.Assign(config, "JupyterHub.db_url", runtime.DatabaseUrl);
        config.AppendLine("# The proxy token and cookie secret come from the environment (CONFIGPROXY_AUTH_TOKEN, JPY_COOKIE_SECRET).");
        config.AppendLine("# A hub restart (new config, new pod) must not stop the users' servers: the spawner finds them again");
        config.AppendLine("# through poll() and the session name kept in its state. JupyterHub 3.0 and 4.1 default to True.");
        Python.Assign(config, "JupyterHub.cleanup_servers", false);
        config.AppendLine();

        AppendAuthentication(config, facility);
        AppendSpawner(config, facility, runtime);
        AppendCuller(config, hub.Culling, runtime);
        return config.ToString();
    }

    private static void AppendAuthentication(StringBuilder config, FacilityResource facility)
    {
        var hub = facility.Spec.Hub;
        config.AppendLine("# Authentication");
        if (hub.Authentication.Type == "dummy")
        {
            Python.Assign(config, "JupyterHub.authenticator_class", DummyAuthenticatorClass);
            config.AppendLine($"c.DummyAuthenticator.password = os.environ.get({Python.Str(DummyPasswordVariable)}, \"\")");
        }
        else
        {
            var oauth = hub.Authentication.OAuth ?? new OAuthSpec();
            const string cls = "GenericOAuthenticator";
            Python.Assign(config, "JupyterHub.authenticator_class", GenericOAuthenticatorClass);
            config.AppendLine($"c.{cls}.client_id = os.environ[{Python.Str(ClientIdVariable)}]");
            config.AppendLine($"c.{cls}.client_secret = os.environ[{Python.Str(ClientSecretVariable)}]");
            var callback = oauth.CallbackUrl ?? (hub.Host is null ? null : $"https://{hub.Host}/hub/oauth_callback");
            if (callback is not null) Python.Assign(config, $"{cls}.oauth_callback_url", callback);
            Python.Assign(config, $"{cls}.authorize_url", oauth.AuthorizeUrl);
            Python.Assign(config, $"{cls}.token_url", oauth.TokenUrl);
            Python.Assign(config, $"{cls}.userdata_url", oauth.UserdataUrl);
            Python.Assign(config, $"{cls}.scope", oauth.Scopes);
            Python.Assign(config, $"{cls}.username_claim", oauth.UsernameClaim);
            Python.Assign(config, $"{cls}.claim_groups_key", oauth.GroupsClaim);
            if (oauth.CaConfigMap is not null)
            {
                // OAuthenticator 16.3 oauth2.py: http_request_kwargs go into every tornado HTTPRequest (token, userinfo);
                // ca_certs is tornado's CA file option, its own docstring's example for a private CA.
                Python.Assign(config, $"{cls}.http_request_kwargs", new Dictionary<string, object?> { ["ca_certs"] = $"{HubRuntime.IdentityProviderCaDirectory}/ca.crt" });
            }
            if (oauth.AllowedGroups.Count > 0)
            {
                config.AppendLine($"c.{cls}.allowed_groups = {Python.Set(oauth.AllowedGroups)}");
            }
            else
            {
                // OAuthenticator 16 admits nobody unless told: an empty group list means every authenticated user.
                Python.Assign(config, $"{cls}.allow_all", true);
            }
        }
        if (hub.AdminUsers.Count > 0) config.AppendLine($"c.Authenticator.admin_users = {Python.Set(hub.AdminUsers)}");
        config.AppendLine($"# The login's e-mail, groups and refresh token reach the spawner through auth_state, encrypted with {CryptKeyVariable}");
        config.AppendLine("# (OAuthenticator 16.3 build_auth_state_dict keeps access_token, refresh_token and the userinfo; it never refreshes");
        config.AppendLine("# them itself: it has no refresh_user, so refresh_pre_spawn calls JupyterHub's no-op. The operator refreshes.)");
        config.AppendLine("# (the hub Secret's key; the hub refuses to start without it).");
        Python.Assign(config, "Authenticator.enable_auth_state", true);
        config.AppendLine();
    }

    private static void AppendSpawner(StringBuilder config, FacilityResource facility, HubRuntime runtime)
    {
        config.AppendLine("# Spawner: every server is a UserSession resource the operator runs.");
        Python.Assign(config, "JupyterHub.spawner_class", runtime.SpawnerClassOverride ?? SpawnerClass);
        config.AppendLine($"c.UserSessionSpawner.facility_name = os.environ.get({Python.Str(FacilityNameVariable)}, {Python.Str(runtime.FacilityName)})");
        config.AppendLine($"c.UserSessionSpawner.facility_namespace = os.environ.get({Python.Str(FacilityNamespaceVariable)}, {Python.Str(runtime.FacilityNamespace)})");
        if (facility.Spec.Hub.Authentication is { Type: "oauth", OAuth: { } oauth })
        {
            Python.Assign(config, "UserSessionSpawner.groups_claim", oauth.GroupsClaim);
        }
        var profiles = facility.Spec.Hub.Profiles;
        var defaultIndex = Math.Max(0, profiles.FindIndex(p => p.Default));
        var profileList = profiles.Select((p, index) => new Dictionary<string, object?>
        {
            ["slug"] = p.Name,
            ["display_name"] = p.DisplayName ?? p.Name,
            ["description"] = p.Description ?? $"{p.Cores} cores, {p.Memory} memory" + (p.Gpus > 0 ? $", {p.Gpus} GPU" : ""),
            ["default"] = index == defaultIndex,
            ["image"] = p.Image,
            ["cores"] = p.Cores,
            ["memory"] = p.Memory,
            ["gpus"] = p.Gpus,
        }).ToList();
        Python.Assign(config, "UserSessionSpawner.profile_list", profileList);
        // Session pods pull images and wait for tokens and volumes: give them longer than the default 60 s.
        Python.Assign(config, "Spawner.start_timeout", 600);
        Python.Assign(config, "Spawner.http_timeout", 120);
        config.AppendLine();
    }

    private static void AppendCuller(StringBuilder config, CullingSpec culling, HubRuntime runtime)
    {
        if (!culling.Enabled) return;
        config.AppendLine("# jupyterhub-idle-culler as a hub-managed service with only the scopes it needs.");
        var command = runtime.IdleCullerCommand.Concat(
        [
            $"--timeout={Durations.ToSeconds(culling.Timeout)}",
            $"--cull-every={Durations.ToSeconds(culling.Every)}",
            $"--max-age={Durations.ToSeconds(culling.MaxAge)}",
        ]).ToList();
        Python.Assign(config, "JupyterHub.services", new List<object>
        {
            new Dictionary<string, object?> { ["name"] = IdleCullerServiceName, ["command"] = command },
        });
        Python.Assign(config, "JupyterHub.load_roles", new List<object>
        {
            new Dictionary<string, object?>
            {
                ["name"] = IdleCullerServiceName,
                ["scopes"] = IdleCullerScopes,
                ["services"] = new List<string> { IdleCullerServiceName },
            },
        });
        config.AppendLine();
    }
}
