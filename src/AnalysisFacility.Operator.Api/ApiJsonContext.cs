using AnalysisFacility.Operator.Api.V1Alpha1;
using AnalysisFacility.Operator.Runtime.Client;

namespace AnalysisFacility.Operator.Api;

/// <summary>Metadata of the four custom resources and their statuses, with KubernetesClient's settings (camelCase names,
/// null fields left out; its date and quantity converters come with <see cref="ClientJson.Compose"/>).</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(V1Alpha1.AnalysisFacility))]
[JsonSerializable(typeof(AnalysisFacilityStatus))]
[JsonSerializable(typeof(UserSession))]
[JsonSerializable(typeof(UserSessionStatus))]
[JsonSerializable(typeof(DaskCluster))]
[JsonSerializable(typeof(DaskClusterStatus))]
[JsonSerializable(typeof(XCacheInstance))]
[JsonSerializable(typeof(XCacheInstanceStatus))]
public sealed partial class ApiJsonContext : JsonSerializerContext;
