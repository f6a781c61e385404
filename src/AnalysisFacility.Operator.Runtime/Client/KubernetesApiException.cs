using System.Net;

namespace AnalysisFacility.Operator.Runtime.Client;

/// <summary>An error answer of the API server, with its HTTP status and the Status reason.</summary>
public sealed class KubernetesApiException(HttpStatusCode statusCode, string reason, string message)
    : Exception($"{(int)statusCode} {reason}: {message}")
{
    public HttpStatusCode StatusCode { get; } = statusCode;
    public string Reason { get; } = reason;
    public string ApiMessage { get; } = message;
    public bool IsNotFound => StatusCode == HttpStatusCode.NotFound;
    public bool IsConflict => StatusCode == HttpStatusCode.Conflict;
    public bool IsGone => StatusCode == HttpStatusCode.Gone;
    public bool IsInvalid => StatusCode == HttpStatusCode.UnprocessableEntity;
}
