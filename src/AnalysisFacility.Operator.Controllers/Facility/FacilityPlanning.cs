using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.Facility;
using AnalysisFacility.Operator.Tokens.Issuance;
using k8s;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Controllers.Facility;

/// <summary>
/// The pure planning code shared by the reconciler and `render`: context, desired objects per component,
/// which observed objects to prune, and the status derived from what is observed.
/// </summary>
public static class FacilityPlanning
{
    public const string IssuerReadyCondition = "IssuerReady";
    public const string InvalidSpecReason = "InvalidSpec";
    public const string ApplyFailedReason = "ApplyFailed";
    /// <summary>An object the facility would write exists and is another facility's, or was not made by the operator.</summary>
    public const string NameInUseReason = "NameInUse";
    public const string SpawnerModuleKey = "analysisfacility_spawner.py";

    private static readonly Lazy<string> SpawnerModule = new(() =>
    {
        using var stream = typeof(FacilityBuilder).Assembly.GetManifestResourceStream(SpawnerModuleKey)
            ?? throw new InvalidOperationException($"embedded resource {SpawnerModuleKey} is missing from the Builders assembly");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    /// <summary>The spawner module the hub imports (shipped in the Builders assembly).</summary>
    public static string SpawnerModuleText => SpawnerModule.Value;

    /// <summary>The subjects the issuer mints for this facility's session users (same derivation as TokenMinter's sub).</summary>
    public static IReadOnlyList<ScitokensIdentity> Identities(FacilityResource facility, IEnumerable<UserSession> sessions, string? facilityUid = null)
    {
        var uid = facilityUid ?? facility.Metadata.Uid;
        if (string.IsNullOrEmpty(uid)) return [];
        return sessions
            .Where(s => s.Metadata.NamespaceProperty == facility.Metadata.NamespaceProperty && s.Spec.FacilityRef == facility.Metadata.Name
                && !string.IsNullOrEmpty(s.Spec.User.Name))
            .Select(s => s.Spec.User.Name)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .Select(user => new ScitokensIdentity(SubjectIds.For(uid, user), user))
            .ToList();
    }

    public static FacilityContext Context(FacilityResource facility, OperatorSettings settings, IReadOnlyList<ScitokensIdentity> identities,
        IReadOnlyDictionary<string, IDictionary<string, byte[]>> existingSecrets, Func<int, string>? newSecretValue = null)
    {
        var context = new FacilityContext
        {
            IssuerServiceHost = settings.IssuerServiceHost,
            IssuerServicePort = settings.IssuerServicePort,
            SpawnerConfigMapName = FacilitySecrets.SpawnerConfigMapName(facility.Metadata.Name),
            ScitokensIdentities = identities,
            ExistingSecrets = existingSecrets,
        };
        return newSecretValue is null ? context : context with { NewSecretValue = newSecretValue };
    }

    /// <summary>
    /// Every component's desired objects, labelled for tracking; the hub gets the spawner ConfigMap, and the
    /// <see cref="FacilityLabels.TokensComponent"/> pseudo-component holds <paramref name="tokenObjects"/>.
    /// </summary>
    public static IReadOnlyList<ComponentObjects> Plan(FacilityResource facility, FacilityContext context, IReadOnlyList<IKubernetesObject<V1ObjectMeta>> tokenObjects)
    {
        var build = FacilityBuilder.Build(facility, context);
        var components = new List<ComponentObjects>();
        foreach (var component in build.Components)
        {
            if (!component.Enabled || !component.IsValid)
            {
                components.Add(component);
                continue;
            }
            var objects = component.Objects.ToList();
            if (component.Component == HubBuilder.Component) objects.Add(SpawnerConfigMap(facility, context.SpawnerConfigMapName));
            foreach (var obj in objects) Label(obj, facility, component.Component);
            components.Add(component with { Objects = objects });
        }
        foreach (var obj in tokenObjects) Label(obj, facility, FacilityLabels.TokensComponent);
        components.Add(new ComponentObjects
        {
            Component = FacilityLabels.TokensComponent, ConditionType = IssuerReadyCondition, Enabled = true, Objects = tokenObjects,
        });
        return components;
    }

    public static V1ConfigMap SpawnerConfigMap(FacilityResource facility, string name) => new()
    {
        ApiVersion = "v1", Kind = "ConfigMap",
        Metadata = new V1ObjectMeta
        {
            Name = name, NamespaceProperty = facility.Metadata.NamespaceProperty,
            Labels = Labels.For("jupyterhub", facility.Metadata.Name, HubBuilder.Component, facility.Metadata.Name),
        },
        Data = new Dictionary<string, string> { [SpawnerModuleKey] = SpawnerModuleText },
    };

    /// <summary>
    /// The issuer's trust anchor for clients in the cluster (see <see cref="OperatorSettings.IssuerTrustPem"/>). Always
    /// published, empty when the issuer's certificate is publicly trusted: the XCache pod waits for it, so it never
    /// starts before the trust exists and then keeps a bundle without it.
    /// </summary>
    public static V1ConfigMap IssuerTrustConfigMap(FacilityResource facility, OperatorSettings settings) => new()
    {
        ApiVersion = "v1", Kind = "ConfigMap",
        Metadata = new V1ObjectMeta
        {
            Name = new FacilityNames(facility.Metadata.Name).IssuerCa, NamespaceProperty = facility.Metadata.NamespaceProperty,
            Labels = Labels.For("analysisfacility-issuer", facility.Metadata.Name, FacilityLabels.TokensComponent, facility.Metadata.Name),
        },
        Data = new Dictionary<string, string> { [IssuerTrustKey] = settings.IssuerTrustPem ?? "" },
    };

    public const string IssuerTrustKey = "ca.crt";

    /// <summary>A Secret of the tokens pseudo-component (issuer keys, CA).</summary>
    public static V1Secret TokensSecret(FacilityResource facility, string name, IDictionary<string, byte[]> data, string type = "Opaque")
    {
        var secret = new V1Secret
        {
            ApiVersion = "v1", Kind = "Secret", Type = type,
            Metadata = new V1ObjectMeta
            {
                Name = name, NamespaceProperty = facility.Metadata.NamespaceProperty,
                Labels = Labels.For("analysisfacility-issuer", facility.Metadata.Name, FacilityLabels.TokensComponent, facility.Metadata.Name),
            },
            Data = data,
        };
        Label(secret, facility, FacilityLabels.TokensComponent);
        return secret;
    }

    /// <summary>Whether the object should carry the facility's owner reference: not retained data, and not cluster-scoped
    /// (a namespaced owner cannot own a cluster-scoped object; the finalizer handles those).</summary>
    public static bool NeedsOwnerReference(IKubernetesObject<V1ObjectMeta> obj) =>
        !DataRetention.IsRetained(obj) && !string.IsNullOrEmpty(obj.Metadata.NamespaceProperty);

    /// <summary>
    /// Observed objects of the facility that should go: not desired by their (valid) component and not retained data.
    /// Objects of a component whose build failed are kept, so a bad edit never tears down what runs.
    /// </summary>
    public static IReadOnlyList<ObservedObject> SelectPrunable(IReadOnlyList<ComponentObjects> components, IEnumerable<ObservedObject> observed)
    {
        var byName = components.ToDictionary(c => c.Component, StringComparer.Ordinal);
        var prune = new List<ObservedObject>();
        foreach (var obj in observed)
        {
            if (obj.Component is null || obj.Retained) continue;
            if (byName.TryGetValue(obj.Component, out var component))
            {
                if (component.Enabled && !component.IsValid) continue;
                if (component.Objects.Any(d => d.Kind == obj.Kind && d.ApiVersion == obj.ApiVersion && d.Metadata.Name == obj.Name
                        && (d.Metadata.NamespaceProperty ?? "") == (obj.Namespace ?? ""))) continue;
            }
            prune.Add(obj);
        }
        return prune;
    }

    /// <summary>The condition of one enabled component from its workloads' observed readiness.</summary>
    public static (bool Ready, string Reason, string Message) ComponentCondition(ComponentObjects component, Func<WorkloadReference, WorkloadState> observe)
    {
        if (!component.IsValid) return (false, InvalidSpecReason, string.Join("; ", component.Errors));
        var waiting = new List<string>();
        foreach (var workload in component.Workloads)
        {
            var state = observe(workload);
            if (!state.Exists) waiting.Add($"{workload.Kind} {workload.Name} not created yet");
            else if (!state.IsReady) waiting.Add($"{workload.Kind} {workload.Name} {state.Ready}/{state.Desired} ready{(state.Current ? "" : ", rolling out")}");
        }
        return waiting.Count == 0
            ? (true, "WorkloadsReady", component.Workloads.Count == 0 ? "nothing to run" : $"{component.Workloads.Count} workload(s) ready")
            : (false, "WorkloadsNotReady", string.Join("; ", waiting));
    }

    /// <summary>
    /// The whole status from the plan, observed workloads and the issuer outcome. Conditions of disabled components
    /// are dropped; lastTransitionTime only moves when a status flips, so the same observation gives the same status.
    /// </summary>
    public static AnalysisFacilityStatus Status(FacilityResource facility, IReadOnlyList<ComponentObjects> components, Func<WorkloadReference, WorkloadState> observe,
        IssuerOutcome issuer, IReadOnlyList<string> specErrors, DateTime now, IReadOnlyList<string>? applyErrors = null,
        IReadOnlyList<string>? namesInUse = null)
    {
        var generation = facility.Metadata.Generation;
        var conditions = (facility.Status?.Conditions ?? []).Select(Clone).ToList();
        var keep = new HashSet<string>(StringComparer.Ordinal) { Conditions.Ready, IssuerReadyCondition };
        var notReady = new List<string>();
        foreach (var component in components.Where(c => c.Enabled && c.Component != FacilityLabels.TokensComponent))
        {
            var (ready, reason, message) = ComponentCondition(component, observe);
            Conditions.Set(conditions, component.ConditionType, ready, reason, message, generation, now);
            keep.Add(component.ConditionType);
            if (!ready) notReady.Add(component.ConditionType);
            if (!component.IsValid) continue;
            foreach (var notice in component.Notices)
            {
                Conditions.Set(conditions, notice.Type, notice.Status, notice.Reason, notice.Message, generation, now);
                keep.Add(notice.Type);
            }
        }
        Conditions.Set(conditions, IssuerReadyCondition, issuer.Ready, issuer.Reason, issuer.Message, generation, now);
        if (issuer.Ready != true) notReady.Add(IssuerReadyCondition);
        Conditions.RemoveAllExcept(conditions, keep);

        string phase;
        if (specErrors.Count > 0)
        {
            Conditions.Set(conditions, Conditions.Ready, false, InvalidSpecReason, string.Join("; ", specErrors), generation, now);
            phase = "Failed";
        }
        else if (namesInUse is { Count: > 0 })
        {
            Conditions.Set(conditions, Conditions.Ready, false, NameInUseReason, string.Join("; ", namesInUse), generation, now);
            phase = "Failed";
        }
        else if (applyErrors is { Count: > 0 })
        {
            Conditions.Set(conditions, Conditions.Ready, false, ApplyFailedReason, string.Join("; ", applyErrors), generation, now);
            phase = "Failed";
        }
        else if (issuer.Ready == false)
        {
            Conditions.Set(conditions, Conditions.Ready, false, issuer.Reason, issuer.Message, generation, now);
            phase = "Failed";
        }
        else if (notReady.Count > 0)
        {
            Conditions.Set(conditions, Conditions.Ready, false, "ComponentsNotReady", $"waiting for {string.Join(", ", notReady)}", generation, now);
            phase = "Progressing";
        }
        else
        {
            Conditions.Set(conditions, Conditions.Ready, true, "AllComponentsReady", "every enabled component and the issuer are ready", generation, now);
            phase = "Ready";
        }
        // Stable order: Ready first, then the rest by type, so a reconcile never reorders the list.
        conditions = [.. conditions.OrderBy(c => c.Type == Conditions.Ready ? 0 : 1).ThenBy(c => c.Type, StringComparer.Ordinal)];

        return new AnalysisFacilityStatus
        {
            ObservedGeneration = generation,
            Phase = phase,
            Conditions = conditions,
            Endpoints = FacilityBuilder.Endpoints(facility),
            PublishedKeyIds = [.. issuer.PublishedKeyIds],
            ActiveKeyId = issuer.ActiveKeyId,
        };
    }

    private static void Label(IKubernetesObject<V1ObjectMeta> obj, FacilityResource facility, string component)
    {
        obj.Metadata.Labels ??= new Dictionary<string, string>();
        obj.Metadata.Labels[Labels.Facility] = facility.Metadata.Name;
        obj.Metadata.Labels[Labels.ManagedBy] = Labels.ManagedByValue;
        obj.Metadata.Labels[FacilityLabels.Component] = component;
        obj.Metadata.Labels[FacilityLabels.FacilityNamespace] = facility.Metadata.NamespaceProperty;
    }

    private static Condition Clone(Condition c) => new()
    {
        Type = c.Type, Status = c.Status, Reason = c.Reason, Message = c.Message,
        LastTransitionTime = c.LastTransitionTime, ObservedGeneration = c.ObservedGeneration,
    };
}
