using AnalysisFacility.Operator.Controllers.Facility;
using System.Security.Cryptography;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.XCache;
using AnalysisFacility.Operator.Controllers.Dask;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Controllers;
using AnalysisFacility.Operator.Runtime.Events;
using AnalysisFacility.Operator.Runtime.Hosting;
using AnalysisFacility.Operator.Tokens.Issuance;
using k8s.Models;
using Serilog;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Controllers.XCache;

/// <summary>
/// The XCacheInstance controller: registers its informers and reconciles. Makes the cache's ConfigMap, Services, StatefulSet and TLS Secret. The cache PVCs come from the StatefulSet's claim
/// templates: Kubernetes leaves them behind when the instance is deleted (cached data only; delete them by hand or reuse
/// them by re-creating the instance with the same name).
/// </summary>
public sealed class XCacheInstanceController(
    OperatorManager manager,
    Informer<FacilityResource> facilities,
    Informer<V1StatefulSet> statefulSets,
    Informer<V1Secret> secrets,
    TimeProvider time) : IReconciler<XCacheInstance>
{
    public const string Name = "xcacheinstance";

    /// <summary>Creates the informers and the controller and adds them to <paramref name="manager"/>.</summary>
    public static Controller<XCacheInstance> Register(OperatorManager manager, OperatorSettings settings, ILogger log, TimeProvider? time = null)
    {
        // No issuer registry: the cache fetches the issuer's keys itself over HTTPS.
        var instances = manager.Informer<XCacheInstance>();
        // StatusWriter resolves the kind by apiVersion/kind, which the registry knows only for registered custom resources.
        var facilities = manager.Informer<FacilityResource>();
        var statefulSets = manager.Informer<V1StatefulSet>(OperatorSettings.ManagedSelector);
        var services = manager.Informer<V1Service>(OperatorSettings.ManagedSelector);
        var configMaps = manager.Informer<V1ConfigMap>(OperatorSettings.ManagedSelector);
        var secrets = manager.Informer<V1Secret>(OperatorSettings.ManagedSelector);
        var reconciler = new XCacheInstanceController(manager, facilities, statefulSets, secrets, time ?? TimeProvider.System);
        var controller = new Controller<XCacheInstance>(Name, instances, reconciler, manager.Api, manager.Metrics, log, settings.Workers)
            .Owns(statefulSets)
            .Owns(services)
            .Owns(configMaps)
            .Owns(secrets)
            .Watches(facilities, facility => instances.List(facility.Metadata.NamespaceProperty)
                .Where(instance => XCachePlanning.FacilityRef(instance) == facility.Metadata.Name).Select(ObjectKey.Of))
            .Watches(secrets, secret => instances.List(secret.Metadata.NamespaceProperty)
                .Where(instance => XCachePlanning.FacilityRef(instance) is { } facility && secret.Metadata.Name == FacilitySecrets.CaSecretName(facility))
                .Select(ObjectKey.Of));
        manager.Add(controller);
        return controller;
    }

    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(15);
    private readonly KeyRingCache _rings = new();

    public async Task<ReconcileResult> ReconcileAsync(XCacheInstance instance, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var generation = instance.Metadata.Generation;
        var previous = instance.Status ?? new XCacheInstanceStatus();
        var status = new XCacheInstanceStatus
        {
            ObservedGeneration = generation,
            Conditions = previous.Conditions.Select(c => new Condition
            {
                Type = c.Type, Status = c.Status, Reason = c.Reason, Message = c.Message,
                LastTransitionTime = c.LastTransitionTime, ObservedGeneration = c.ObservedGeneration,
            }).ToList(),
            Endpoint = previous.Endpoint,
        };
        void Set(string type, bool? value, string reason, string message) =>
            Conditions.Set(status.Conditions, type, value, reason, message, generation, now.UtcDateTime);
        var ns = instance.Metadata.NamespaceProperty;

        XCacheIssuerSettings? issuer = null;
        var facilityName = XCachePlanning.FacilityRef(instance);
        if (facilityName is not null)
        {
            var facility = facilities.Get(new ObjectKey(ns, facilityName));
            if (facility is null)
            {
                var message = $"AnalysisFacility {facilityName} (spec.authorization.facilityRef) does not exist in namespace {ns}.";
                await manager.Events.RecordAsync(instance, EventRecorder.Warning, XCacheConditions.FacilityNotFound, message, cancellationToken);
                return await NotReadyAsync(instance, status, XCacheConditions.FacilityNotFound, message, "Pending", RetryDelay, cancellationToken);
            }
            var (resolved, issuerErrors) = XCachePlanning.IssuerOf(facility);
            if (issuerErrors.Count > 0) return await InvalidAsync(instance, status, issuerErrors, cancellationToken);
            issuer = resolved;
        }

        var build = XCacheBuilder.Build(instance, issuer);
        if (!build.Succeeded) return await InvalidAsync(instance, status, build.Errors, cancellationToken);
        var resources = build.Resources!;
        var result = ReconcileResult.Done;
        var keep = new HashSet<string> { Conditions.Ready, XCacheConditions.ServersReady };

        // Token authorization means TLS: the certificate comes from the facility CA, or (explicit issuer) the user provides it.
        if (resources.TlsSecretName is { } tlsSecretName)
        {
            keep.Add(XCacheConditions.TlsReady);
            if (facilityName is not null)
            {
                var caData = await FacilityCa.ReadAsync(secrets, manager.Api, ns, facilityName, cancellationToken);
                var caName = FacilitySecrets.CaSecretName(facilityName);
                if (caData is null)
                {
                    var message = $"The facility CA Secret {caName} does not exist yet (the AnalysisFacility controller creates it); waiting.";
                    Set(XCacheConditions.TlsReady, false, XCacheConditions.CertificateAuthorityMissing, message);
                    return await NotReadyAsync(instance, status, XCacheConditions.CertificateAuthorityMissing, message, "Pending", RetryDelay, cancellationToken);
                }
                try
                {
                    var ensured = XCacheTls.Ensure(secrets.Get(new ObjectKey(ns, tlsSecretName))?.Data, caData, instance, now);
                    await manager.Applier.ApplyAsync(XCacheTls.BuildSecret(instance, ensured.Data), instance, cancellationToken);
                    // Clients (sessions, workers) verify the cache against this CA; only the certificate is published.
                    var caPem = System.Text.Encoding.ASCII.GetString(ensured.Data[XCacheTls.CaCertificateKey]);
                    await manager.Applier.ApplyAsync(XCacheTls.BuildCaConfigMap(instance, caPem), instance, cancellationToken);
                    var renewIn = ensured.RenewAt - now;
                    result = result.Merge(ReconcileResult.After(renewIn > TimeSpan.FromMinutes(1) ? renewIn : TimeSpan.FromMinutes(1)));
                    Set(XCacheConditions.TlsReady, true, "CertificateIssued",
                        $"Server certificate from {caName} in Secret {tlsSecretName}; renewed at {ensured.RenewAt.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}.");
                }
                catch (Exception e) when (e is ArgumentException or CryptographicException or InvalidOperationException)
                {
                    var message = $"The facility CA Secret {caName} cannot sign certificates: {e.Message}";
                    await manager.Events.RecordAsync(instance, EventRecorder.Warning, "CertificateAuthorityInvalid", message, cancellationToken);
                    Set(XCacheConditions.TlsReady, false, "CertificateAuthorityInvalid", message);
                    return await NotReadyAsync(instance, status, "CertificateAuthorityInvalid", message, "Pending", RetryDelay, cancellationToken);
                }
            }
            else if (secrets.Get(new ObjectKey(ns, tlsSecretName)) is null
                     && await manager.Api.GetAsync(manager.Api.Types.For<V1Secret>(), ns, tlsSecretName, cancellationToken) is null)
            {
                Set(XCacheConditions.TlsReady, false, XCacheConditions.TlsSecretMissing,
                    $"With spec.authorization.issuer (no facilityRef) there is no facility CA: create the kubernetes.io/tls Secret {tlsSecretName} (tls.crt, tls.key, ca.crt).");
                result = result.Merge(ReconcileResult.After(RetryDelay));
            }
            else
            {
                Set(XCacheConditions.TlsReady, true, "CertificateProvided", $"Server certificate from the Secret {tlsSecretName}.");
            }
        }
        else
        {
            // Authorization switched off: the certificate is no longer used.
            await manager.Applier.DeleteAsync(manager.Api.Types.For<V1Secret>(), ns, XCacheBuilder.TlsSecretName(instance), cancellationToken);
        }

        var origin = await ReconcileOriginCredentialsAsync(instance, now, cancellationToken);
        if (origin is { } verdict)
        {
            keep.Add(XCacheConditions.OriginCredentialsReady);
            Set(XCacheConditions.OriginCredentialsReady, verdict.Usable, verdict.Reason, verdict.Message);
            if (!verdict.Usable && previous.Conditions.FirstOrDefault(c => c.Type == XCacheConditions.OriginCredentialsReady)?.Reason != verdict.Reason)
            {
                await manager.Events.RecordAsync(instance, EventRecorder.Warning, verdict.Reason, verdict.Message, cancellationToken);
            }
            result = result.Merge(ReconcileResult.After(verdict.RecheckIn > TimeSpan.FromSeconds(1) ? verdict.RecheckIn : TimeSpan.FromSeconds(1)));
        }

        // Applied even without a usable credential: the pod waits for it and starts as soon as it is there.
        foreach (var obj in resources.All) await manager.Applier.ApplyAsync(obj, instance, cancellationToken);

        var statefulSet = statefulSets.Get(new ObjectKey(ns, XCacheBuilder.ObjectName(instance)));
        var ready = statefulSet?.Status?.ReadyReplicas ?? 0;
        // Ready only when the servers run the current configuration (a rolling update has finished).
        var current = statefulSet?.Status is { } observed
                      && observed.ObservedGeneration >= statefulSet.Metadata.Generation
                      && (observed.UpdateRevision is null || observed.CurrentRevision == observed.UpdateRevision);
        var serversReady = ready >= instance.Spec.Replicas && current;
        Set(XCacheConditions.ServersReady, serversReady, serversReady ? "ServersRunning" : ready >= instance.Spec.Replicas ? "RollingUpdate" : "ServersNotReady",
            $"{ready} of {instance.Spec.Replicas} cache servers ready{(current ? "" : "; an update is rolling out")}.");
        status.ReadyReplicas = ready;
        status.Endpoint = resources.Endpoint;

        Conditions.RemoveAllExcept(status.Conditions, keep);
        var blocking = status.Conditions.FirstOrDefault(c => c.Type != Conditions.Ready && c.Status != Conditions.True);
        if (blocking is null)
        {
            Set(Conditions.Ready, true, "CacheReady", $"{ready} cache servers serve {resources.Endpoint}.");
            status.Phase = "Ready";
        }
        else
        {
            Set(Conditions.Ready, false, blocking.Reason ?? "NotReady", blocking.Message ?? blocking.Type);
            status.Phase = ready == 0 ? "Pending" : "Progressing";
        }
        await manager.Status.UpdateAsync(instance, status, cancellationToken);
        return result;
    }

    /// <summary>
    /// The origin credential: a robot token is minted (and re-minted at half its life, or when its key, scopes or
    /// audience change) into the cache's own Secret; a credential the admin provides is only read and judged. Null
    /// when the cache reads anonymously.
    /// </summary>
    private async Task<OriginCredentialVerdict?> ReconcileOriginCredentialsAsync(XCacheInstance instance, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var ns = instance.Metadata.NamespaceProperty;
        var source = XCacheOriginClient.SourceOf(instance.Spec);
        if (source == OriginCredentialSource.None) return null;
        if (source != OriginCredentialSource.FacilityRobotToken)
        {
            var secret = XCacheOriginClient.CredentialSecret(instance)!;
            var data = (await manager.Api.GetAsync<V1Secret>(ns, secret.Name, cancellationToken))?.Data;
            return OriginCredentialCheck.Evaluate(source, secret.Name, secret.Key, data, now);
        }

        var facilityName = XCachePlanning.RobotTokenFacility(instance)!;
        var facility = facilities.Get(new ObjectKey(ns, facilityName));
        if (facility is null)
        {
            return new OriginCredentialVerdict(false, XCacheConditions.FacilityNotFound,
                $"AnalysisFacility {facilityName} (spec.originCredentials.token.facilityRef) does not exist in namespace {ns}; no robot token for the origin.", RetryDelay);
        }
        var (settings, request, errors) = XCachePlanning.RobotToken(instance, facility);
        if (settings is null) return new OriginCredentialVerdict(false, "InvalidIssuer", string.Join("; ", errors), RetryDelay);
        var ring = (await IssuerKeyRings.ReadAsync(secrets, manager.Api, _rings, ns, facilityName, cancellationToken))?.Value;
        if (ring?.ActiveAt(now) is null)
        {
            return new OriginCredentialVerdict(false, "NoSigningKey",
                $"The issuer of AnalysisFacility {facilityName} has no active signing key yet (Secret {FacilitySecrets.IssuerKeysSecretName(facilityName)}).", RetryDelay);
        }

        var secretName = XCacheOriginClient.RobotTokenSecretName(instance.Metadata.Name);
        var stored = await Sessions.StoredTokens.ReadAsync(secrets, manager.Api, ns, secretName, cancellationToken);
        var requestHash = Sessions.SessionPlanning.RequestHash(request, settings);
        var published = ring.PublishedKeys.Select(k => k.KeyId).ToHashSet(StringComparer.Ordinal);
        if (!Sessions.TokenRenewalPolicy.Decide(stored, requestHash, published, now).Renew)
        {
            return Issued(secretName, stored.ExpiresAt!.Value, TokenLifetimes.NextRefreshAt(stored.IssuedAt!.Value, stored.ExpiresAt.Value) - now);
        }
        var minted = TokenMinter.Mint(settings, ring, request, now);
        if (!minted.Succeeded) return new OriginCredentialVerdict(false, "TokenRefused", string.Join("; ", minted.Errors), RetryDelay);
        var token = minted.Value!;
        await manager.Applier.ApplyAsync(XCachePlanning.RobotTokenSecret(instance, facilityName, token, requestHash), instance, cancellationToken);
        return Issued(secretName, token.ExpiresAt, token.NextRefreshAt - now);

        static OriginCredentialVerdict Issued(string name, DateTimeOffset expiresAt, TimeSpan refreshIn) => new(true, "RobotTokenIssued",
            $"Robot token for the origin in Secret {name}, valid until {expiresAt:yyyy-MM-ddTHH:mm:ssZ}; refreshed before expiry.", refreshIn);
    }

    private async Task<ReconcileResult> InvalidAsync(XCacheInstance instance, XCacheInstanceStatus status, IReadOnlyList<string> errors, CancellationToken cancellationToken)
    {
        var message = string.Join("; ", errors);
        await manager.Events.RecordAsync(instance, EventRecorder.Warning, XCacheConditions.InvalidSpec, message, cancellationToken);
        // The servers running the last good configuration stay as they are until the spec is fixed.
        return await NotReadyAsync(instance, status, XCacheConditions.InvalidSpec, message, "Failed", null, cancellationToken);
    }

    private async Task<ReconcileResult> NotReadyAsync(XCacheInstance instance, XCacheInstanceStatus status, string reason, string message, string phase,
        TimeSpan? retry, CancellationToken cancellationToken)
    {
        Conditions.Set(status.Conditions, Conditions.Ready, false, reason, message, instance.Metadata.Generation, time.GetUtcNow().UtcDateTime);
        status.Phase = phase;
        var statefulSet = statefulSets.Get(new ObjectKey(instance.Metadata.NamespaceProperty, XCacheBuilder.ObjectName(instance)));
        status.ReadyReplicas = statefulSet?.Status?.ReadyReplicas ?? (statefulSet is null ? null : 0);
        await manager.Status.UpdateAsync(instance, status, cancellationToken);
        return retry is { } delay ? ReconcileResult.After(delay) : ReconcileResult.Done;
    }
}
