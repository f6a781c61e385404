using AnalysisFacility.Operator.Builders.Sessions;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Certificates;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.Facility;
using AnalysisFacility.Operator.Runtime.Apply;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Client;
using AnalysisFacility.Operator.Runtime.Controllers;
using AnalysisFacility.Operator.Runtime.Events;
using AnalysisFacility.Operator.Runtime.Hosting;
using AnalysisFacility.Operator.Tokens.Discovery;
using AnalysisFacility.Operator.Tokens.Grants;
using AnalysisFacility.Operator.Tokens.Issuance;
using AnalysisFacility.Operator.Tokens.Keys;
using k8s;
using k8s.Models;
using Serilog;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Controllers.Facility;

/// <summary>
/// Brings one facility in line with its spec: issuer keys and CA, every enabled component's objects, pruning of
/// disabled components, status from observed workloads. Retained data (store PV/PVC, spool and database PVCs with
/// retain) gets no owner reference, so neither pruning nor garbage collection ever deletes it.
/// </summary>
internal sealed class FacilityReconciler(OperatorManager manager, OperatorSettings settings, IssuerRegistry issuers,
    FacilityChildren children, Informer<UserSession> sessions, TimeProvider time, ILogger log) : IReconciler<FacilityResource>, IFinalizer<FacilityResource>
{
    public const string FinalizerName = "analysisfacility.io/cleanup";
    private static readonly TimeSpan MinimumRequeue = TimeSpan.FromSeconds(1);

    private Task<bool>? _supportsClaimRetention;

    /// <summary>What each facility's schedd map holds now (the controller skips session events that would not change it).</summary>
    public IdentityMapThrottle IdentityMaps { get; } = new(FacilityController.SessionChangeCoalescing);

    public string Name => FinalizerName;

    /// <summary>
    /// StatefulSet.spec.persistentVolumeClaimRetentionPolicy exists from Kubernetes 1.23; older API servers reject it in
    /// server-side apply ("field not declared in schema"). They never delete StatefulSet claims, which is the retain
    /// behaviour anyway, so the field is dropped there.
    /// </summary>
    private async Task<bool> SupportsClaimRetentionAsync(CancellationToken cancellationToken)
    {
        var probe = _supportsClaimRetention ??= Task.Run(async () =>
        {
            var version = System.Text.Json.Nodes.JsonNode.Parse(await children.Api.GetRawAsync("/version", cancellationToken));
            var major = int.Parse(new string((version?["major"]?.GetValue<string>() ?? "1").TakeWhile(char.IsDigit).ToArray()), System.Globalization.CultureInfo.InvariantCulture);
            var minor = int.Parse(new string((version?["minor"]?.GetValue<string>() ?? "0").TakeWhile(char.IsDigit).ToArray()), System.Globalization.CultureInfo.InvariantCulture);
            return major > 1 || minor >= 23;
        }, cancellationToken);
        try
        {
            return await probe;
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            _supportsClaimRetention = null; // ask again next time
            throw;
        }
    }

    /// <summary>The CVMFS CSI driver's StorageClass is installed by the admin, not by us: read it, say what is missing.</summary>
    private async Task<string?> CvmfsDriverProblemAsync(FacilityResource facility, CancellationToken cancellationToken)
    {
        var cvmfs = facility.Spec.Cvmfs;
        if (!cvmfs.Enabled || string.IsNullOrEmpty(cvmfs.StorageClassName)) return null;
        var storageClass = await manager.Api.GetAsync(manager.Api.Types.For<V1StorageClass>(), null, cvmfs.StorageClassName, cancellationToken);
        return SessionCvmfs.DriverProblem(cvmfs, storageClass?["provisioner"]?.GetValue<string>(), storageClass is not null);
    }

    private static string Owner(FacilityResource facility) => $"{facility.Metadata.NamespaceProperty}/{facility.Metadata.Name}";

    public async Task<ReconcileResult> ReconcileAsync(FacilityResource facility, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var ns = facility.Metadata.NamespaceProperty;
        var name = facility.Metadata.Name;
        var result = ReconcileResult.Done;

        // Issuer: key ring Secret, publication in the shared registry.
        var (issuer, tokenObjects, issuerErrors, issuerRequeue) = await ReconcileIssuerAsync(facility, now, cancellationToken);
        result = result.Merge(issuerRequeue);

        // CA for Dask/XCache certificates.
        var (caSecret, caRequeue) = await ReconcileCaAsync(facility, now, cancellationToken);
        result = result.Merge(caRequeue);

        // SSL certificate of the collector and schedd, renewed before expiry (the daemons read it per connection).
        IDictionary<string, byte[]>? condorTls = null;
        if (facility.Spec.HTCondor.Enabled)
        {
            var tlsName = new FacilityNames(name).CondorTls;
            var tls = HTCondorTls.Ensure(await ReadSecretDataAsync(ns, tlsName, cancellationToken), caSecret.Data, facility, now);
            if (tls.Changed) log.Information("HTCondor SSL certificate of {Facility} issued, renewal due {RenewAt:O}", Owner(facility), tls.RenewAt);
            condorTls = tls.Data;
            result = result.Merge(ReconcileResult.After(Max(tls.RenewAt - now, MinimumRequeue)));
        }

        var existing = children.Secrets.List(ns)
            .Where(s => s.Metadata.Labels?.TryGetValue(Labels.Facility, out var f) == true && f == name && s.Data is not null)
            .ToDictionary(s => s.Metadata.Name, s => s.Data);
        var (identities, identitiesPending) = IdentityMaps.Select(ObjectKey.Of(facility), FacilityPlanning.Identities(facility, sessions.List(ns)), now);
        if (identitiesPending is { } pending) result = result.Merge(ReconcileResult.After(pending));
        var context = FacilityPlanning.Context(facility, settings, identities, existing) with { CondorTls = condorTls };
        // The tokens pseudo-component's objects are written here, not by the component loop below (which skips it).
        var issuerTrust = FacilityPlanning.IssuerTrustConfigMap(facility, settings);
        await manager.Applier.ApplyAsync(issuerTrust, facility, cancellationToken);
        var components = FacilityPlanning.Plan(facility, context, [.. tokenObjects, caSecret, issuerTrust]);
        if (await CvmfsDriverProblemAsync(facility, cancellationToken) is { } cvmfsProblem)
        {
            // Without the driver the claim would stay Pending and every session with it: report, apply nothing for CVMFS.
            components = [.. components.Select(c => c.Component == CvmfsBuilder.Component ? ComponentObjects.Invalid(c.Component, c.ConditionType, [cvmfsProblem]) : c)];
            result = result.Merge(ReconcileResult.After(TimeSpan.FromMinutes(1)));
        }

        var applyErrors = new List<string>();
        var namesInUse = new List<string>();
        var claimRetention = await SupportsClaimRetentionAsync(cancellationToken);
        foreach (var component in components.Where(c => c.Enabled && c.IsValid && c.Component != FacilityLabels.TokensComponent))
        {
            foreach (var obj in component.Objects)
            {
                if (!claimRetention && obj is V1StatefulSet statefulSet) statefulSet.Spec.PersistentVolumeClaimRetentionPolicy = null;
                // A PV's storageClassName "" is stored as absent (omitempty); sending "" would look like drift on every reconcile.
                if (obj is V1PersistentVolume { Spec.StorageClassName: "" } volume) volume.Spec.StorageClassName = null;
                try
                {
                    await manager.Applier.ApplyAsync(obj, FacilityPlanning.NeedsOwnerReference(obj) ? facility : null, cancellationToken);
                }
                catch (NameInUseException e)
                {
                    // Another facility's object, or one the operator never made: never written, reported by name.
                    namesInUse.Add(e.Message);
                }
                catch (KubernetesApiException e) when (!e.IsConflict)
                {
                    // A rejected object is reported, the rest of the facility still converges.
                    applyErrors.Add($"{obj.Kind} {obj.Metadata.Name} ({component.Component}): {e.ApiMessage}");
                }
            }
        }

        var observed = children.OwnedBy(ns, name).ToList();
        var prune = FacilityPlanning.SelectPrunable(components, observed.Select(o => ObservedObject.Of(o.Object)));
        foreach (var obj in prune)
        {
            var type = observed.First(o => o.Object.Kind == obj.Kind && o.Object.Metadata.Name == obj.Name).Type;
            await manager.Applier.DeleteAsync(type, obj.Namespace, obj.Name, cancellationToken);
        }

        var specErrors = components.SelectMany(c => c.Errors).Concat(issuerErrors).ToList();
        if (specErrors.Count > 0)
        {
            await manager.Events.RecordAsync(facility, EventRecorder.Warning, FacilityPlanning.InvalidSpecReason, string.Join("; ", specErrors), cancellationToken);
        }
        foreach (var notice in components.Where(c => c.Enabled && c.IsValid).SelectMany(c => c.Notices).Where(n => !n.Status))
        {
            await manager.Events.RecordAsync(facility, EventRecorder.Warning, notice.Reason, notice.Message, cancellationToken);
        }
        if (issuer.Reason == "IssuerPathConflict")
        {
            await manager.Events.RecordAsync(facility, EventRecorder.Warning, issuer.Reason, issuer.Message, cancellationToken);
        }
        if (namesInUse.Count > 0)
        {
            await manager.Events.RecordAsync(facility, EventRecorder.Warning, FacilityPlanning.NameInUseReason, string.Join("; ", namesInUse), cancellationToken);
        }
        if (applyErrors.Count > 0)
        {
            await manager.Events.RecordAsync(facility, EventRecorder.Warning, FacilityPlanning.ApplyFailedReason, string.Join("; ", applyErrors), cancellationToken);
        }

        var status = FacilityPlanning.Status(facility, components, w => children.Observe(ns, w), issuer,
            specErrors, now.UtcDateTime, applyErrors, namesInUse);
        await manager.Status.UpdateAsync(facility, status, cancellationToken);
        return result;
    }

    private async Task<(IssuerOutcome Outcome, IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Objects, IReadOnlyList<string> SpecErrors, ReconcileResult Requeue)>
        ReconcileIssuerAsync(FacilityResource facility, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var secretName = FacilitySecrets.IssuerKeysSecretName(facility.Metadata.Name);
        var placeholder = FacilityPlanning.TokensSecret(facility, secretName, new Dictionary<string, byte[]>());
        var settingsResult = IssuerSettings.FromSpec(facility.Spec.Tokens, facility.Metadata.Uid, HTCondorBuilder.IssuerAudiences(facility));
        if (!settingsResult.Succeeded)
        {
            // Keep the keys and what is published: a bad edit must not take the issuer away.
            return (IssuerOutcome.Invalid(settingsResult.Errors), [placeholder], settingsResult.Errors, ReconcileResult.Done);
        }
        var issuerSettings = settingsResult.Value!;
        var policy = issuerSettings.Rotation;

        var data = await ReadSecretDataAsync(facility.Metadata.NamespaceProperty, secretName, cancellationToken);
        var read = KeyRingSecret.FromSecretData(data);
        if (!read.Succeeded)
        {
            // Never overwrite keys we cannot read: an admin repairs or deletes the Secret (deleting makes a new ring).
            return (new IssuerOutcome(false, "InvalidKeySecret", string.Join("; ", read.Errors), [], null), [placeholder], [], ReconcileResult.Done);
        }
        var rotation = read.Value!.Rotate(now, policy);
        var ring = rotation.Ring;
        var secret = FacilityPlanning.TokensSecret(facility, secretName, KeyRingSecret.ToSecretData(ring));
        if (rotation.Changed || data is null)
        {
            await manager.Applier.ApplyAsync(secret, facility, cancellationToken);
            log.Information("Issuer key ring of {Facility} updated: {Keys} key(s) published", Owner(facility), ring.Entries.Length);
        }
        else
        {
            await EnsureLabelsAndOwnerAsync(secret, facility, cancellationToken);
        }

        var requeue = ring.NextChangeAt(now, policy) is { } next ? ReconcileResult.After(Max(next - now, MinimumRequeue)) : ReconcileResult.Done;
        var keyIds = ring.Entries.Select(e => e.Key.KeyId).ToList();
        var active = ring.ActiveAt(now)?.Key.KeyId;
        var (robots, robotErrors) = await ReadRobotsAsync(facility, cancellationToken);
        var conflict = issuers.Publish(Owner(facility), issuerSettings.Issuer, ring, new RobotGrants(issuerSettings, ring, robots));
        if (robotErrors.Count > 0)
        {
            // Robots with a bad or missing secret hash are left out; the rest of the issuer keeps working.
            return (new IssuerOutcome(false, "InvalidRobotClient", string.Join("; ", robotErrors), keyIds, active), [secret], robotErrors, requeue);
        }
        if (conflict is not null)
        {
            return (new IssuerOutcome(false, "IssuerPathConflict", conflict, keyIds, active), [secret], [], requeue);
        }
        return (new IssuerOutcome(true, "Published", $"{keyIds.Count} key(s) published at {issuerSettings.Issuer}", keyIds, active), [secret], [], requeue);
    }

    private async Task<(V1Secret Secret, ReconcileResult Requeue)> ReconcileCaAsync(FacilityResource facility, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var name = FacilitySecrets.CaSecretName(facility.Metadata.Name);
        var data = await ReadSecretDataAsync(facility.Metadata.NamespaceProperty, name, cancellationToken);
        var ca = FacilityCertificateAuthority.Ensure(data, facility.Metadata.Name, now);
        var secret = FacilityPlanning.TokensSecret(facility, name, ca.Data, "kubernetes.io/tls");
        if (ca.Changed)
        {
            await manager.Applier.ApplyAsync(secret, facility, cancellationToken);
            log.Information("Facility CA of {Facility} issued", Owner(facility));
        }
        else
        {
            await EnsureLabelsAndOwnerAsync(secret, facility, cancellationToken);
        }
        return (secret, ReconcileResult.After(Max(ca.RenewAt - now, MinimumRequeue)));
    }

    /// <summary>The robot clients whose secret hash the referenced Secret holds (read, never written), and what is wrong with the others.</summary>
    private async Task<(IReadOnlyDictionary<string, RobotClient> Clients, IReadOnlyList<string> Errors)> ReadRobotsAsync(FacilityResource facility, CancellationToken cancellationToken)
    {
        var clients = new Dictionary<string, RobotClient>(StringComparer.Ordinal);
        var errors = new List<string>();
        var robots = facility.Spec.Tokens.Robots;
        for (var i = 0; i < robots.Count; i++)
        {
            var data = await ReadSecretDataAsync(facility.Metadata.NamespaceProperty, robots[i].SecretHashRef.Name, cancellationToken);
            var stored = data is not null && data.TryGetValue(robots[i].SecretHashRef.Key, out var bytes) ? System.Text.Encoding.UTF8.GetString(bytes) : null;
            var client = RobotClient.FromSpec(robots[i], stored, $"spec.tokens.robots[{i}]");
            if (client.Succeeded) clients[robots[i].ClientId] = client.Value!;
            else errors.AddRange(client.Errors);
        }
        return (clients, errors);
    }

    /// <summary>
    /// A Secret whose data we keep (keys, CA) but that lost its labels or owner (edited by hand) is re-applied with
    /// the same data. A Secret missing from the cache is read directly, so a Secret that merely lost its managed-by
    /// label is never replaced by fresh keys.
    /// </summary>
    private async Task EnsureLabelsAndOwnerAsync(V1Secret desired, FacilityResource facility, CancellationToken cancellationToken)
    {
        var cached = children.Secrets.Get(ObjectKey.Of(desired));
        var labelled = cached?.Metadata.Labels is { } labels && labels.ContainsKey(FacilityLabels.Component);
        var owned = cached?.Metadata.OwnerReferences?.Any(r => r.Uid == facility.Metadata.Uid) == true;
        if (cached is null || !labelled || !owned)
        {
            await manager.Applier.ApplyAsync(desired, facility, cancellationToken);
        }
    }

    private async Task<IDictionary<string, byte[]>?> ReadSecretDataAsync(string ns, string name, CancellationToken cancellationToken)
    {
        var cached = children.Secrets.Get(new ObjectKey(ns, name));
        if (cached is not null) return cached.Data ?? new Dictionary<string, byte[]>();
        var live = await children.Api.GetAsync<V1Secret>(ns, name, cancellationToken);
        if (live is null) return null;
        return live.Data ?? new Dictionary<string, byte[]>();
    }

    public async Task<ReconcileResult> FinalizeAsync(FacilityResource facility, CancellationToken cancellationToken)
    {
        issuers.Remove(Owner(facility));
        IdentityMaps.Forget(ObjectKey.Of(facility));
        // The store PV is cluster-scoped: garbage collection cannot remove it through an owner reference.
        foreach (var (type, pv) in children.OfKind<V1PersistentVolume>(facility.Metadata.NamespaceProperty, facility.Metadata.Name).ToList())
        {
            if (DataRetention.IsRetained(pv))
            {
                // Keep the data; drop the tracking labels so no cache follows the volume any more, but keep whose it was (and
                // its retain annotation): a facility of the same name and namespace re-adopts it, no other facility writes it.
                var patch = new JsonObject
                {
                    ["metadata"] = new JsonObject
                    {
                        ["labels"] = new JsonObject { [Labels.ManagedBy] = null, [FacilityLabels.Component] = null },
                    },
                };
                await children.Api.PatchAsync(type, null, pv.Metadata.Name, patch.ToJsonString(), KubernetesApi.MergePatch, cancellationToken);
                log.Information("Released retained PersistentVolume {Name} of {Facility}", pv.Metadata.Name, Owner(facility));
            }
            else
            {
                await manager.Applier.DeleteAsync(type, null, pv.Metadata.Name, cancellationToken);
            }
        }
        return ReconcileResult.Done;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
