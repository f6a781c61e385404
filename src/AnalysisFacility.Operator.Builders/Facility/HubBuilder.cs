using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Common;
using k8s;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Builders.Facility;

/// <summary>JupyterHub: hub + proxy Deployment, Services, config, Secret, database PVC, RBAC, Ingress and the issuer route.</summary>
public static class HubBuilder
{
    public const string Component = "hub";
    public const string ConditionType = "HubReady";
    public const string ProxyImage = "quay.io/jupyterhub/configurable-http-proxy:4.6.2";
    public const string ConfigFileName = "jupyterhub_config.py";
    public const string ProxyTokenKey = "proxy-token";
    public const string CookieSecretKey = "cookie-secret";
    /// <summary>Key of the hub Secret with the auth_state encryption key (32 random bytes, hex).</summary>
    public const string CryptKeyKey = "crypt-key";
    /// <summary>Pod annotation holding a hash of the generated config, so a config change rolls the hub out.</summary>
    public const string ConfigHashAnnotation = "analysisfacility.io/config-hash";

    public static IReadOnlyList<string> Validate(AnalysisFacilitySpec spec)
    {
        var errors = new List<string>();
        var hub = spec.Hub;
        if (!hub.Enabled) return errors;
        if (hub.Authentication.Type == "oauth")
        {
            var oauth = hub.Authentication.OAuth;
            if (oauth is null)
            {
                errors.Add("spec.hub.authentication.oauth is required when spec.hub.authentication.type is 'oauth' (or use type 'dummy' for test instances)");
            }
            else
            {
                if (string.IsNullOrEmpty(oauth.ClientSecretSecretRef?.Name) || string.IsNullOrEmpty(oauth.ClientSecretSecretRef.Key))
                    errors.Add("spec.hub.authentication.oauth.clientSecretSecretRef must name a Secret and key holding the OAuth client secret");
                if (string.IsNullOrEmpty(oauth.ClientIdSecretRef?.Name) || string.IsNullOrEmpty(oauth.ClientIdSecretRef.Key))
                    errors.Add("spec.hub.authentication.oauth.clientIdSecretRef must name a Secret and key holding the OAuth client id");
                foreach (var (field, url) in new[] { ("authorizeUrl", oauth.AuthorizeUrl), ("tokenUrl", oauth.TokenUrl), ("userdataUrl", oauth.UserdataUrl) })
                {
                    if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
                        errors.Add($"spec.hub.authentication.oauth.{field} must be an http(s) URL, got '{url}'");
                }
                if (oauth.CallbackUrl is null && hub.Host is null)
                    errors.Add("spec.hub.authentication.oauth.callbackUrl is required when spec.hub.host is empty (it defaults to https://<host>/hub/oauth_callback)");
            }
        }
        if (spec.Tokens.SessionToken == "experiment" && hub.Authentication.Type != "oauth")
        {
            errors.Add("spec.tokens.sessionToken 'experiment' needs spec.hub.authentication.type 'oauth': the experiment's token comes from the user's login at its identity provider");
        }
        var names = new HashSet<string>();
        foreach (var profile in hub.Profiles)
        {
            if (!names.Add(profile.Name)) errors.Add($"spec.hub.profiles has the name '{profile.Name}' twice; profile names must be unique");
        }
        if (hub.Profiles.Count(p => p.Default) > 1) errors.Add("spec.hub.profiles marks more than one profile as default; mark at most one");
        if (spec.Sessions.MaxGpus is { } maxGpus)
        {
            foreach (var profile in hub.Profiles.Where(p => p.Gpus > maxGpus))
            {
                errors.Add($"spec.hub.profiles '{profile.Name}' asks for {profile.Gpus} GPU(s) but spec.sessions.maxGpus is {maxGpus}"
                           + (maxGpus == 0 ? " (the facility has no GPUs)" : "") + "; lower the profile's gpus or raise maxGpus");
            }
        }
        foreach (var (field, value) in new[] { ("timeout", hub.Culling.Timeout), ("every", hub.Culling.Every), ("maxAge", hub.Culling.MaxAge) })
        {
            try { Durations.ToSeconds(value); }
            catch (FormatException e) { errors.Add($"spec.hub.culling.{field}: {e.Message}"); }
        }
        if (hub.Host is not null && Uri.TryCreate(spec.Tokens.Issuer, UriKind.Absolute, out var issuer)
            && issuer.Host == hub.Host && issuer.AbsolutePath.Trim('/').Length == 0)
        {
            errors.Add($"spec.tokens.issuer '{spec.Tokens.Issuer}' is on the hub host and needs a path (e.g. https://{hub.Host}/issuer): the hub serves '/'");
        }
        return errors;
    }

    public static ComponentObjects Build(FacilityResource facility, FacilityContext context)
    {
        var hub = facility.Spec.Hub;
        if (!hub.Enabled) return ComponentObjects.Disabled(Component, ConditionType);
        var errors = Validate(facility.Spec);
        if (errors.Count > 0) return ComponentObjects.Invalid(Component, ConditionType, errors);

        var kube = new Kube(facility, "jupyterhub", Component);
        var names = new FacilityNames(kube.Facility);
        var configText = HubConfigGenerator.Generate(facility, HubRuntime.InCluster(facility));
        var objects = new List<IKubernetesObject<V1ObjectMeta>>
        {
            kube.ConfigMap(names.HubConfig, new Dictionary<string, string> { [ConfigFileName] = configText }),
            kube.Secret(names.HubSecret, new Dictionary<string, byte[]>
            {
                [ProxyTokenKey] = context.KeepOrGenerate(names.HubSecret, ProxyTokenKey),
                [CookieSecretKey] = context.KeepOrGenerate(names.HubSecret, CookieSecretKey),
                [CryptKeyKey] = context.KeepOrGenerate(names.HubSecret, CryptKeyKey),
            }),
            HubDatabaseClaim(kube, names),
            new V1ServiceAccount { ApiVersion = "v1", Kind = "ServiceAccount", Metadata = kube.Meta(names.Hub) },
            Role(kube, names),
            new V1RoleBinding
            {
                ApiVersion = "rbac.authorization.k8s.io/v1", Kind = "RoleBinding", Metadata = kube.Meta(names.Hub),
                RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = names.Hub },
                Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = names.Hub, NamespaceProperty = kube.Namespace }],
            },
            Deployment(facility, kube, names, context, configText),
            kube.Service(names.Hub, Kube.Port("http", 80, HubRuntime.ProxyPublicPort), Kube.Port("hub", HubRuntime.HubPort)),
        };
        if (hub.Host is not null)
        {
            objects.Add(IssuerService(kube, names, context));
            objects.Add(Ingress(facility, kube, names, context));
        }
        return ComponentObjects.Of(Component, ConditionType, objects);
    }

    private static V1PersistentVolumeClaim HubDatabaseClaim(Kube kube, FacilityNames names) => new()
    {
        // The hub's sqlite state (users, tokens) is rebuildable, so it is not marked as retained data.
        ApiVersion = "v1", Kind = "PersistentVolumeClaim", Metadata = kube.Meta(names.HubDatabase),
        Spec = new V1PersistentVolumeClaimSpec
        {
            AccessModes = ["ReadWriteOnce"],
            Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1Gi") } },
        },
    };

    /// <summary>What the spawner calls (its module docstring lists them): UserSessions, and creating the hub-env
    /// Secrets. Secrets are create-only, so the hub can never read the facility's issuer keys or other Secrets.</summary>
    public static readonly IReadOnlyList<(string Group, string Resource, IReadOnlyList<string> Verbs)> HubPermissions =
    [
        (ApiGroup.Group, "usersessions", ["get", "list", "create", "patch", "delete"]),
        ("", "secrets", ["create"]),
    ];

    private static V1Role Role(Kube kube, FacilityNames names) => new()
    {
        ApiVersion = "rbac.authorization.k8s.io/v1", Kind = "Role", Metadata = kube.Meta(names.Hub),
        Rules = HubPermissions.Select(p => new V1PolicyRule { ApiGroups = [p.Group], Resources = [p.Resource], Verbs = p.Verbs.ToList() }).ToList(),
    };

    private static V1Deployment Deployment(FacilityResource facility, Kube kube, FacilityNames names, FacilityContext context, string configText)
    {
        var hub = facility.Spec.Hub;
        var env = new List<V1EnvVar>
        {
            Kube.Env(HubConfigGenerator.FacilityNameVariable, kube.Facility),
            Kube.Env(HubConfigGenerator.FacilityNamespaceVariable, kube.Namespace),
            Kube.Env("PYTHONPATH", HubRuntime.SpawnerModuleDirectory),
            Kube.EnvFromSecret("CONFIGPROXY_AUTH_TOKEN", names.HubSecret, ProxyTokenKey),
            Kube.EnvFromSecret("JPY_COOKIE_SECRET", names.HubSecret, CookieSecretKey),
            Kube.EnvFromSecret(HubConfigGenerator.CryptKeyVariable, names.HubSecret, CryptKeyKey),
        };
        if (hub.Authentication.Type == "oauth" && hub.Authentication.OAuth is { } oauth)
        {
            env.Add(Kube.EnvFromSecret(HubConfigGenerator.ClientIdVariable, oauth.ClientIdSecretRef.Name, oauth.ClientIdSecretRef.Key));
            env.Add(Kube.EnvFromSecret(HubConfigGenerator.ClientSecretVariable, oauth.ClientSecretSecretRef.Name, oauth.ClientSecretSecretRef.Key));
        }
        else if (hub.Authentication.DummyPasswordSecretRef is { } password)
        {
            env.Add(Kube.EnvFromSecret(HubConfigGenerator.DummyPasswordVariable, password.Name, password.Key));
        }

        var identityProviderCa = hub.Authentication is { Type: "oauth", OAuth.CaConfigMap: { } caConfigMap } ? caConfigMap : null;
        var hubContainer = new V1Container
        {
            Name = "hub",
            Image = hub.Image,
            Command = ["jupyterhub", "--config", $"{HubRuntime.ConfigDirectory}/config/{ConfigFileName}"],
            WorkingDir = HubRuntime.DataDirectory,
            Env = env,
            Ports = [new V1ContainerPort { Name = "hub", ContainerPort = HubRuntime.HubPort }],
            ReadinessProbe = Kube.HttpProbe("/hub/health", HubRuntime.HubPort),
            LivenessProbe = Kube.HttpProbe("/hub/health", HubRuntime.HubPort, initialDelaySeconds: 60, periodSeconds: 20),
            Resources = Kube.Resources(hub.Resources),
            VolumeMounts =
            [
                new V1VolumeMount { Name = "config", MountPath = $"{HubRuntime.ConfigDirectory}/config", ReadOnlyProperty = true },
                new V1VolumeMount { Name = "spawner", MountPath = HubRuntime.SpawnerModuleDirectory, ReadOnlyProperty = true },
                new V1VolumeMount { Name = "data", MountPath = HubRuntime.DataDirectory },
            ],
        };
        if (identityProviderCa is not null)
        {
            hubContainer.VolumeMounts.Add(new V1VolumeMount { Name = "identity-provider-ca", MountPath = HubRuntime.IdentityProviderCaDirectory, ReadOnlyProperty = true });
        }
        var proxyContainer = new V1Container
        {
            Name = "proxy",
            Image = ProxyImage,
            Command =
            [
                "configurable-http-proxy", "--ip=", $"--port={HubRuntime.ProxyPublicPort}",
                "--api-ip=127.0.0.1", $"--api-port={HubRuntime.ProxyApiPort}",
                $"--default-target=http://127.0.0.1:{HubRuntime.HubPort}",
                $"--error-target=http://127.0.0.1:{HubRuntime.HubPort}/hub/error",
            ],
            Env = [Kube.EnvFromSecret("CONFIGPROXY_AUTH_TOKEN", names.HubSecret, ProxyTokenKey)],
            Ports = [new V1ContainerPort { Name = "http", ContainerPort = HubRuntime.ProxyPublicPort }],
            ReadinessProbe = Kube.HttpProbe("/_chp_healthz", HubRuntime.ProxyPublicPort),
        };
        var pod = new V1PodSpec
        {
            ServiceAccountName = names.Hub,
            // k8s-hub runs as uid 1000; fsGroup makes the database volume writable for it.
            SecurityContext = new V1PodSecurityContext { RunAsUser = 1000, RunAsGroup = 1000, FsGroup = 1000, RunAsNonRoot = true },
            Containers = [hubContainer, proxyContainer],
            Volumes =
            [
                new V1Volume { Name = "config", ConfigMap = new V1ConfigMapVolumeSource { Name = names.HubConfig } },
                new V1Volume { Name = "spawner", ConfigMap = new V1ConfigMapVolumeSource { Name = context.SpawnerConfigMapName } },
                new V1Volume { Name = "data", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = names.HubDatabase } },
            ],
        };
        if (identityProviderCa is not null)
        {
            pod.Volumes.Add(new V1Volume { Name = "identity-provider-ca", ConfigMap = new V1ConfigMapVolumeSource { Name = identityProviderCa } });
        }
        var hash = Hashes.Of(configText);
        return kube.Deployment(names.Hub, 1, pod, recreate: true, new Dictionary<string, string> { [ConfigHashAnnotation] = hash });
    }

    /// <summary>An ExternalName Service so the facility's Ingress can route the issuer path to the operator's issuer.</summary>
    private static V1Service IssuerService(Kube kube, FacilityNames names, FacilityContext context) => new()
    {
        ApiVersion = "v1", Kind = "Service", Metadata = kube.Meta(names.Issuer),
        Spec = new V1ServiceSpec
        {
            Type = "ExternalName",
            ExternalName = context.IssuerServiceHost,
            Ports = [Kube.Port("http", context.IssuerServicePort)],
        },
    };

    private static V1Ingress Ingress(FacilityResource facility, Kube kube, FacilityNames names, FacilityContext context)
    {
        var hub = facility.Spec.Hub;
        var host = hub.Host!;
        var hubPaths = new List<V1HTTPIngressPath> { Kube.Path("/", names.Hub, 80) };
        var rules = new List<V1IngressRule> { new() { Host = host, Http = new V1HTTPIngressRuleValue { Paths = hubPaths } } };
        var tlsHosts = new List<string> { host };
        if (Uri.TryCreate(facility.Spec.Tokens.Issuer, UriKind.Absolute, out var issuer))
        {
            var issuerPath = issuer.AbsolutePath.TrimEnd('/');
            var route = Kube.Path(issuerPath.Length == 0 ? "/" : issuerPath, names.Issuer, context.IssuerServicePort);
            if (issuer.Host == host)
            {
                hubPaths.Insert(0, route);
            }
            else
            {
                rules.Add(new V1IngressRule { Host = issuer.Host, Http = new V1HTTPIngressRuleValue { Paths = [route] } });
                tlsHosts.Add(issuer.Host);
            }
        }
        return new V1Ingress
        {
            ApiVersion = "networking.k8s.io/v1", Kind = "Ingress", Metadata = kube.Meta(names.Hub),
            Spec = new V1IngressSpec
            {
                IngressClassName = hub.IngressClassName,
                Tls = hub.TlsSecretName is null ? null : [new V1IngressTLS { Hosts = tlsHosts, SecretName = hub.TlsSecretName }],
                Rules = rules,
            },
        };
    }
}
