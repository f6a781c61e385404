using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AnalysisFacility.Operator.Tokens.Issuance;

namespace AnalysisFacility.Operator.Tokens.Keys;

/// <summary>
/// Stores a <see cref="KeyRing"/> in Secret data: <c>keyring.json</c> holds the schedule, and each private key is
/// <c>&lt;kid&gt;.pem</c> (PKCS#8 PEM). Key ids are base64url, which are valid Secret data keys.
/// </summary>
public static class KeyRingSecret
{
    public const string ScheduleKey = "keyring.json";
    private const string PemSuffix = ".pem";

    public static Dictionary<string, byte[]> ToSecretData(KeyRing ring)
    {
        var data = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var keys = new JsonArray();
        foreach (var entry in ring.Entries)
        {
            keys.Add((JsonNode)new JsonObject
            {
                ["kid"] = entry.Key.KeyId,
                ["alg"] = entry.Key.Algorithm,
                ["publishedAt"] = Format(entry.PublishedAt),
                ["signsFrom"] = Format(entry.SignsFrom),
                ["signsUntil"] = entry.SignsUntil is { } until ? Format(until) : null,
            });
            data[entry.Key.KeyId + PemSuffix] = Encoding.ASCII.GetBytes(entry.Key.ExportPkcs8Pem());
        }
        data[ScheduleKey] = Encoding.UTF8.GetBytes(new JsonObject { ["version"] = 1, ["keys"] = keys }.ToJsonString());
        return data;
    }

    /// <summary>
    /// Reads a ring back. A Secret without <c>keyring.json</c> yields an empty ring (the controller then rotates to
    /// create the first key). A damaged Secret yields errors that never quote key material.
    /// </summary>
    public static IssuanceResult<KeyRing> FromSecretData(IDictionary<string, byte[]>? data)
    {
        if (data is null || !data.TryGetValue(ScheduleKey, out var scheduleBytes)) return IssuanceResult<KeyRing>.Ok(KeyRing.Empty);
        var errors = new List<string>();
        var entries = new List<KeyRingEntry>();
        JsonArray keys;
        try
        {
            keys = JsonNode.Parse(scheduleBytes)?["keys"]?.AsArray() ?? throw new JsonException("no 'keys' array");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return IssuanceResult<KeyRing>.Fail($"signing key Secret: {ScheduleKey} is not valid ({e.Message})");
        }
        foreach (var node in keys)
        {
            var kid = node?["kid"]?.GetValue<string>() ?? "";
            try
            {
                if (!data.TryGetValue(kid + PemSuffix, out var pem))
                {
                    errors.Add($"signing key Secret: key '{kid}' is listed in {ScheduleKey} but {kid}{PemSuffix} is missing");
                    continue;
                }
                var key = SigningKey.FromPkcs8Pem(Encoding.ASCII.GetString(pem));
                if (key.KeyId != kid)
                {
                    errors.Add($"signing key Secret: {kid}{PemSuffix} holds a key whose thumbprint is {key.KeyId}, not {kid}");
                    continue;
                }
                entries.Add(new KeyRingEntry(key,
                    Parse(node!["publishedAt"]), Parse(node["signsFrom"]),
                    node["signsUntil"] is { } until ? Parse(until) : null));
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException)
            {
                errors.Add($"signing key Secret: key '{kid}' cannot be read: {e.Message}");
            }
        }
        return errors.Count > 0 ? IssuanceResult<KeyRing>.Fail(errors) : IssuanceResult<KeyRing>.Ok(new KeyRing(entries));
    }

    private static string Format(DateTimeOffset time) => time.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset Parse(JsonNode? node) =>
        DateTimeOffset.Parse(node?.GetValue<string>() ?? throw new FormatException("a schedule time is missing"),
            CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
