namespace DeviceTrust.Core.Devices;

/// <summary>A PCR value a verified quote covered: <c>SHA256</c>, 7, lowercase hex.</summary>
public sealed record QuotedPcr(string Bank, int Index, string Value);

/// <summary>
/// What the last verified quote and event log said about how a TPM device booted: the quoted PCRs (what golden values
/// are written from), the log's SHA-256 and what it establishes (Secure Boot, the EFI applications started, the dbx
/// size); null values were not established by the log, with the reason beside them.
/// </summary>
public sealed record BootRecord(
    DateTimeOffset VerifiedAt,
    IReadOnlyList<QuotedPcr> Pcrs,
    string EventLogSha256,
    int EventLogEvents,
    bool? SecureBoot,
    string SecureBootUnknown,
    IReadOnlyList<string> BootApplications,
    int? DbxSha256Entries);
