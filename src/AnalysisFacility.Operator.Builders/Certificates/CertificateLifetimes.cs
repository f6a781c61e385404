namespace AnalysisFacility.Operator.Builders.Certificates;

/// <summary>How long issued certificates live and how early they are replaced.</summary>
/// <param name="CaLifetime">Validity of the facility CA. Long, because replacing it re-issues every leaf.</param>
/// <param name="CaRenewBefore">The CA is replaced when less than this is left.</param>
/// <param name="LeafLifetime">Validity of scheduler, worker and client certificates.</param>
/// <param name="LeafRenewBefore">A leaf is replaced when less than this is left.</param>
/// <param name="ClockSkew">NotBefore is back-dated by this much so peers with slightly slow clocks accept a new certificate.</param>
public sealed record CertificateLifetimes(
    TimeSpan CaLifetime,
    TimeSpan CaRenewBefore,
    TimeSpan LeafLifetime,
    TimeSpan LeafRenewBefore,
    TimeSpan ClockSkew)
{
    public static CertificateLifetimes Default { get; } = new(
        CaLifetime: TimeSpan.FromDays(3650),
        CaRenewBefore: TimeSpan.FromDays(365),
        LeafLifetime: TimeSpan.FromDays(90),
        LeafRenewBefore: TimeSpan.FromDays(30),
        ClockSkew: TimeSpan.FromMinutes(5));
}

/// <summary>Secret data after an ensure step: unchanged when the stored certificates were still good.</summary>
/// <param name="Data">The Secret data to apply.</param>
/// <param name="Changed">True when something was (re-)issued.</param>
/// <param name="RenewAt">When the next reconcile must re-issue (the controller requeues for this time).</param>
public sealed record CertificateSecretData(IDictionary<string, byte[]> Data, bool Changed, DateTimeOffset RenewAt);
