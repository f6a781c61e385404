using AnalysisFacility.Operator.Tokens.Keys;

namespace AnalysisFacility.Operator.Tokens.Discovery;

/// <summary>What the endpoints serve for one issuer; documents are rendered once per update.</summary>
public sealed record PublishedIssuer(string Owner, string Issuer, string Path, byte[] Discovery, byte[] Jwks, RobotGrants? Robots = null);

/// <summary>What the token endpoint needs to mint for robot clients of one issuer.</summary>
public sealed record RobotGrants(Issuance.IssuerSettings Settings, KeyRing Ring, IReadOnlyDictionary<string, Grants.RobotClient> Clients);
