using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Builders.Certificates;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.Dask;
using AnalysisFacility.Operator.Builders.Facility;
using AnalysisFacility.Operator.Builders.Sessions;
using AnalysisFacility.Operator.Builders.Tokens;
using AnalysisFacility.Operator.Runtime.Apply;
using AnalysisFacility.Operator.Tokens.Issuance;
using AnalysisFacility.Operator.Tokens.Jose;
using k8s.Models;
using FacilityResource = AnalysisFacility.Operator.Api.V1Alpha1.AnalysisFacility;

namespace AnalysisFacility.Operator.Controllers.Sessions;

/// <summary>What is known about the token currently stored in the user's Secret.</summary>
public sealed record StoredToken(DateTimeOffset? IssuedAt, DateTimeOffset? ExpiresAt, string? KeyId, string? RequestHash)
{
    public bool Present => IssuedAt is not null && ExpiresAt is not null;
}

/// <summary>The objects of one session and the facts the reconciler needs about them.</summary>
public sealed record SessionPlan(SessionBuildResult Build, string? StoreName, string TokenStoreName, string TokenSecretName,
    DaskCluster? Dask, string? DaskSchedulerAddress, SessionDaskLimits? DaskLimits = null)
{
    /// <summary>Informational service conditions (e.g. the Rucio account could not be derived).</summary>
    public IReadOnlyList<ServiceCondition> Services { get; init; } = [];
}

/// <summary>
/// Pure planning shared by the reconciler and `render`: which objects a session has, its token request, its
/// culling deadline and how to read the stored token back.
/// </summary>
public static class SessionPlanning
{
    public const string TokenRequestAnnotation = "analysisfacility.io/token-request";

    /// <summary>The scheduler address a session's DaskCluster will have (known before the cluster reports it).</summary>
    public static string PredictedSchedulerAddress(string clusterName, string @namespace, bool tls) =>
        $"{(tls ? "tls" : "tcp")}://{DaskNames.SchedulerHost(clusterName, @namespace)}:{DaskNames.CommPort}";

    public static SessionPlan Plan(UserSession session, FacilityResource facility, DaskCluster? observedDask)
    {
        var ns = session.Metadata.NamespaceProperty;
        var storeName = SessionStore.ResolveStoreName(session, facility);
        var tokenSecret = TokenDelivery.SecretName(facility.Metadata.Name, session.Spec.User.Name);

        DaskCluster? dask = null;
        string? schedulerAddress = null;
        if (DaskOf(session, facility) is { Enabled: true } daskSpec)
        {
            dask = SessionDaskCluster.Build(session, facility, daskSpec);
            schedulerAddress = observedDask?.Status?.SchedulerAddress is { Length: > 0 } observed
                ? observed
                : PredictedSchedulerAddress(dask.Metadata.Name, ns, dask.Spec.Tls);
        }

        var context = new SessionContext
        {
            StoreName = storeName,
            // From the facility's spec, not its status: a session is configured at once, and a status write never changes it.
            Endpoints = SessionServiceEndpoints.From(FacilityBuilder.Endpoints(facility)) with
            {
                CondorPrivateNetwork = facility.Spec.HTCondor is { Enabled: true, External: not null } ? HTCondorBuilder.UidDomain(facility) : null,
            },
            // The CA that signed the collector's and schedd's SSL certificates (the facility's condor-ca ConfigMap).
            CaBundle = facility.Spec.HTCondor.Enabled ? new ConfigMapKey(new FacilityNames(facility.Metadata.Name).CondorCa, LeafSecretData.CaCertificateKey) : null,
            DaskSchedulerAddress = schedulerAddress,
            DaskTlsSecretName = dask is { Spec.Tls: true } ? DaskNames.TlsSecret(dask.Metadata.Name) : null,
            TokenSecretName = tokenSecret,
            Rucio = facility.Spec.Rucio.Enabled ? SessionRucio.AccountFor(facility.Spec.Rucio, session.Spec.User.Name, storeName) : null,
            XCacheCaConfigMap = Dask.DaskPlanning.XCacheCaConfigMap(facility),
        };
        var build = new SessionBuilder(new SessionTokenAdapter(facility.Spec.Sessions.RunAsUser, ExperimentTokenSecret.DeliveryFor(facility, session.Spec.User.Name))).Build(session, facility, context);
        // A user without a store directory gets the scopes of the nobody directory, the one they see (read-only).
        var tokenStore = storeName ?? facility.Spec.UserStore.NobodyDirectory;
        var daskLimits = DaskOf(session, facility) is { Enabled: true } enabled ? SessionDaskLimits.Resolve(enabled, facility.Spec.Dask, facility.Metadata.Name) : null;
        IReadOnlyList<ServiceCondition> services = context.Rucio is { } rucio
            ? [new ServiceCondition(SessionRucio.ConditionType, rucio.Account is not null, rucio.Reason, rucio.Message)]
            : [];
        return new SessionPlan(build, storeName, tokenStore, tokenSecret, dask, schedulerAddress, daskLimits) { Services = services };
    }

    /// <summary>The session's Dask request: its own, else the facility's default for sessions that say nothing.</summary>
    public static SessionDask? DaskOf(UserSession session, FacilityResource facility) => session.Spec.Dask ?? facility.Spec.Dask.Sessions;

    /// <summary>What the token must be for; a change (store, groups, issuer, audiences) means a new token.</summary>
    public static TokenRequest TokenRequestFor(UserSession session, string tokenStoreName) =>
        new(session.Spec.User.Name, tokenStoreName, session.Spec.User.Groups);

    public static string RequestHash(TokenRequest request, IssuerSettings settings)
    {
        // The fields, names and order of the anonymous object this hash was first taken of (so an upgrade re-mints nothing),
        // written without reflection.
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("Issuer", settings.Issuer);
            json.WriteString("UserName", request.UserName);
            json.WriteString("StoreName", request.StoreName);
            WriteStrings(json, "Groups", request.Groups);
            WriteStrings(json, "Audiences", settings.Audiences);
            json.WriteBoolean("AllowAnyAudience", settings.AllowAnyAudience);
            WriteStrings(json, "Scopes", settings.ScopesFor(request.StoreName, request.Groups));
            json.WriteNumber("Lifetime", settings.Lifetime.TotalSeconds);
            json.WriteEndObject();
        }
        return Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan))[..16];
    }

    private static void WriteStrings(Utf8JsonWriter json, string name, IReadOnlyList<string>? values)
    {
        if (values is null)
        {
            json.WriteNull(name);
            return;
        }
        json.WriteStartArray(name);
        foreach (var value in values) json.WriteStringValue(value);
        json.WriteEndArray();
    }

    /// <summary>The token Secret for a freshly minted token, with the request hash for later comparison.</summary>
    public static V1Secret TokenSecret(UserSession session, FacilityResource facility, MintedToken token, string requestHash)
    {
        var secret = TokenDelivery.BuildSecret(facility.Metadata.Name, session.Metadata.NamespaceProperty, session.Spec.User.Name, token);
        secret.Metadata.Annotations[TokenRequestAnnotation] = requestHash;
        return StoredTokens.WithDigest(secret);
    }

    /// <summary>
    /// Reads iat/exp/kid from the stored token itself (the annotations could be stale after a hand edit); the
    /// signature is not checked: the operator wrote it, and a foreign token only makes it refresh sooner.
    /// </summary>
    public static StoredToken ReadStoredToken(V1Secret? secret)
    {
        if (secret?.Data is null || !secret.Data.TryGetValue(TokenDelivery.TokenKey, out var bytes) || bytes.Length == 0)
        {
            return new StoredToken(null, null, null, null);
        }
        var requestHash = secret.Metadata?.Annotations?.TryGetValue(TokenRequestAnnotation, out var hash) == true ? hash : null;
        var times = UnverifiedJwt.Read(bytes);
        return new StoredToken(times?.IssuedAt, times?.ExpiresAt, times?.KeyId, requestHash);
    }

    /// <summary>When the session must be stopped: spec.ttl and the facility's culling maxAge (when enabled and &gt; 0), the earlier.</summary>
    public static DateTimeOffset? CullDeadline(UserSession session, FacilityResource facility)
    {
        var created = session.Metadata.CreationTimestamp;
        if (created is null) return null;
        var start = new DateTimeOffset(DateTime.SpecifyKind(created.Value, DateTimeKind.Utc));
        TimeSpan? limit = null;
        if (DurationText.TryParse(session.Spec.Ttl, out var ttl) && ttl > TimeSpan.Zero) limit = ttl;
        var culling = facility.Spec.Hub.Culling;
        if (culling.Enabled && DurationText.TryParse(culling.MaxAge, out var maxAge) && maxAge > TimeSpan.Zero)
        {
            limit = limit is null || maxAge < limit ? maxAge : limit;
        }
        return limit is null ? null : start + limit.Value;
    }
}

