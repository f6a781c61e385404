using System.Globalization;
using System.Text;
using AnalysisFacility.Operator.Builders.Common;
using k8s.Models;

namespace AnalysisFacility.Operator.Builders.Tokens;

/// <summary>What the operator last wrote about a session's experiment token, as its Secret's annotations say (no token in it).</summary>
/// <param name="Login">The hub's handover Secret the token came from (a new spawn hands over a new one).</param>
/// <param name="IssuedAt">When the access token was obtained.</param>
/// <param name="ExpiresAt">When it expires (the identity provider's expires_in).</param>
/// <param name="RevokedLogin">The handover Secret whose refresh token the identity provider refused for good.</param>
/// <param name="FailedAt">When the last attempt failed for a passing reason.</param>
/// <param name="Failure">What that failure was (never a token).</param>
public sealed record ExperimentTokenRecord(string? Login, DateTimeOffset? IssuedAt, DateTimeOffset? ExpiresAt, string? RevokedLogin,
    DateTimeOffset? FailedAt, string? Failure)
{
    public static ExperimentTokenRecord None { get; } = new(null, null, null, null, null, null);
}

/// <summary>
/// The operator-owned Secret with a session's experiment token: the access token from the experiment's identity provider
/// (key <see cref="TokenDelivery.TokenKey"/>, delivered to the pod like the facility token) and the refresh token to use
/// next (key <see cref="RefreshTokenKey"/>; rotated by providers that rotate, never delivered to a pod).
/// </summary>
public static class ExperimentTokenSecret
{
    public const string Component = "experiment-token";
    /// <summary>Key of the refresh token, in this Secret and in the hub's handover Secret alike.</summary>
    public const string RefreshTokenKey = "refresh_token";
    public const string LoginAnnotation = "analysisfacility.io/experiment-token-login";
    public const string RevokedLoginAnnotation = "analysisfacility.io/experiment-token-revoked-login";
    public const string FailedAtAnnotation = "analysisfacility.io/experiment-token-failed-at";
    public const string FailureAnnotation = "analysisfacility.io/experiment-token-failure";

    public static string Name(string facility, string userName) => Names.Object(facility, Component, userName);

    /// <summary>Whether the facility's users have an experiment token: they log in at the experiment's identity provider (hub oauth).</summary>
    public static bool Offered(Api.V1Alpha1.AnalysisFacility facility) => facility.Spec.Hub is { Enabled: true, Authentication.Type: "oauth" };

    /// <summary>How a pod of <paramref name="userName"/> gets the experiment token, or null when the facility offers none.</summary>
    public static ExperimentTokenDelivery? DeliveryFor(Api.V1Alpha1.AnalysisFacility facility, string userName) => Offered(facility)
        ? new ExperimentTokenDelivery(Name(facility.Metadata.Name, userName), facility.Spec.Tokens.SessionToken == "experiment")
        : null;

    /// <summary>The Secret as it should be after an attempt: <paramref name="data"/> is what it holds (empty after a revocation).</summary>
    public static V1Secret Build(string facility, string @namespace, string userName, ExperimentTokenRecord record, IDictionary<string, byte[]> data)
    {
        var labels = Labels.For("analysisfacility", facility, Component, facility);
        labels[Labels.User] = Labels.SafeValue(userName);
        var annotations = new Dictionary<string, string>();
        Put(LoginAnnotation, record.Login);
        Put(TokenDelivery.IssuedAtAnnotation, record.IssuedAt?.ToString("O", CultureInfo.InvariantCulture));
        Put(TokenDelivery.ExpiresAtAnnotation, record.ExpiresAt?.ToString("O", CultureInfo.InvariantCulture));
        Put(RevokedLoginAnnotation, record.RevokedLogin);
        Put(FailedAtAnnotation, record.FailedAt?.ToString("O", CultureInfo.InvariantCulture));
        Put(FailureAnnotation, record.Failure);
        return new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = new V1ObjectMeta { Name = Name(facility, userName), NamespaceProperty = @namespace, Labels = labels, Annotations = annotations },
            Type = "Opaque",
            Data = new Dictionary<string, byte[]>(data),
        };

        void Put(string key, string? value)
        {
            if (!string.IsNullOrEmpty(value)) annotations[key] = value;
        }
    }

    /// <summary>The record the annotations of <paramref name="secret"/> describe (<see cref="ExperimentTokenRecord.None"/> for no Secret).</summary>
    public static ExperimentTokenRecord Read(V1Secret? secret)
    {
        var annotations = secret?.Metadata?.Annotations;
        if (annotations is null) return ExperimentTokenRecord.None;
        return new ExperimentTokenRecord(Text(LoginAnnotation), Time(TokenDelivery.IssuedAtAnnotation), Time(TokenDelivery.ExpiresAtAnnotation),
            Text(RevokedLoginAnnotation), Time(FailedAtAnnotation), Text(FailureAnnotation));

        string? Text(string key) => annotations.TryGetValue(key, out var value) && value.Length > 0 ? value : null;

        DateTimeOffset? Time(string key) => annotations.TryGetValue(key, out var value)
            && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var parsed) ? parsed : null;
    }

    /// <summary>The data of a Secret holding <paramref name="accessToken"/> and the refresh token to use next.</summary>
    public static Dictionary<string, byte[]> Data(string accessToken, string refreshToken) => new()
    {
        [TokenDelivery.TokenKey] = Encoding.ASCII.GetBytes(accessToken),
        [RefreshTokenKey] = Encoding.UTF8.GetBytes(refreshToken),
    };
}
