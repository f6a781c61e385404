using System.Text.Json.Nodes;

namespace AnalysisFacility.Operator.Runtime.Client;

/// <summary>One page of a LIST.</summary>
public sealed record ListPage(IReadOnlyList<JsonObject> Items, string ResourceVersion, string? Continue);
