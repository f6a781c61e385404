using System.Globalization;
using AnalysisFacility.Operator.Builders.Common;
using AnalysisFacility.Operator.Builders.Tokens;
using AnalysisFacility.Operator.Controllers.XCache;
using AnalysisFacility.Operator.Runtime.Cache;
using AnalysisFacility.Operator.Runtime.Client;
using k8s.Models;

namespace AnalysisFacility.Operator.Controllers.Sessions;

/// <summary>
/// Token Secrets (users' and the XCache robot's) are cached without their token: the operator's memory holds no user's
/// bearer token. What a reconcile needs to decide on a refresh (issued, expiry, key, request) is read from the annotations
/// written beside the token, trusted only while the digest of the live data, which the cache keeps in place of the data,
/// is the one written with them. Otherwise (the data was edited by hand, or written by an earlier operator) the Secret is
/// read by GET and the token itself decoded, as before.
/// </summary>
public static class StoredTokens
{
    /// <summary>The digest (<see cref="FieldDigest"/>) of the Secret's data as the operator wrote it with the annotations.</summary>
    public const string DigestAnnotation = "analysisfacility.io/token-data-digest";

    /// <summary>What the Secret informer leaves out: the data of token Secrets, selected by their component label.</summary>
    public static OmittedField CacheOmission { get; } = new("data", IsTokenSecret);

    public static bool IsTokenSecret(V1ObjectMeta metadata) =>
        metadata.Labels?.TryGetValue(Labels.Component, out var component) == true
        && component is TokenDelivery.SecretComponent or XCachePlanning.RobotTokenComponent or ExperimentTokenSecret.Component;

    /// <summary>Adds the digest of <paramref name="secret"/>'s data to its annotations (the annotations must exist).</summary>
    public static V1Secret WithDigest(V1Secret secret)
    {
        secret.Metadata.Annotations[DigestAnnotation] = FieldDigest.OfField(secret, "data", ApiJson.Options) ?? "";
        return secret;
    }

    /// <summary>
    /// The token as its annotations describe it, when the data they were written with is still there
    /// (<paramref name="dataDigest"/> is the digest of the live data); null when they cannot be trusted or are incomplete.
    /// Times are whole seconds, as the token's own iat and exp.
    /// </summary>
    public static StoredToken? FromAnnotations(V1Secret secret, string? dataDigest)
    {
        var annotations = secret.Metadata?.Annotations;
        if (annotations is null || dataDigest is null || !annotations.TryGetValue(DigestAnnotation, out var written) || written != dataDigest) return null;
        if (!Time(TokenDelivery.IssuedAtAnnotation, out var issued) || !Time(TokenDelivery.ExpiresAtAnnotation, out var expires)) return null;
        if (!annotations.TryGetValue(TokenDelivery.KeyIdAnnotation, out var keyId) || string.IsNullOrEmpty(keyId)) return null;
        var requestHash = annotations.TryGetValue(SessionPlanning.TokenRequestAnnotation, out var hash) ? hash : null;
        return new StoredToken(issued, expires, keyId, requestHash);

        bool Time(string name, out DateTimeOffset value)
        {
            value = default;
            if (!annotations.TryGetValue(name, out var text)
                || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var parsed)) return false;
            value = DateTimeOffset.FromUnixTimeSeconds(parsed.ToUnixTimeSeconds());
            return true;
        }
    }

    /// <summary>
    /// The stored token of the Secret <paramref name="name"/>: from the cache's metadata when it can be trusted, otherwise
    /// from the Secret read by GET. A Secret the cache does not hold is taken as absent (the next mint writes it).
    /// </summary>
    public static async Task<StoredToken> ReadAsync(Informer<V1Secret> secrets, KubernetesApi api, string @namespace, string name,
        CancellationToken cancellationToken)
    {
        var cached = secrets.Get(new ObjectKey(@namespace, name));
        if (cached is null) return SessionPlanning.ReadStoredToken(null);
        if (cached.Data is not null) return SessionPlanning.ReadStoredToken(cached); // a cache that keeps the data
        if (FromAnnotations(cached, secrets.OmittedDigest(cached)) is { } described) return described;
        if (secrets.OmittedDigest(cached) is null) return SessionPlanning.ReadStoredToken(cached); // no data at all
        return SessionPlanning.ReadStoredToken(await api.GetAsync<V1Secret>(@namespace, name, cancellationToken));
    }
}
