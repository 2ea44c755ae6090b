using DeviceTrust.Client.Diagnostics;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;
using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.Device;
using DeviceTrust.Tpm.EventLog;
using DeviceTrust.Tpm.Structures;
using DeviceTrust.Tpm.Verification;
using Google.Protobuf;
using Grpc.Net.Client;

namespace DeviceTrust.Client.Devices;

/// <summary>
/// The device side of the ceremonies for TPM devices: offer the EK and a persisted AK, activate the server's credential,
/// quote over the server's nonce.
/// </summary>
public static class TpmCeremonies
{
    /// <summary>What the device quotes at least: the SHA-256 bank's boot PCRs (what the cluster requires).</summary>
    public static IReadOnlyList<PcrBank> QuotedPcrs => QuotePolicy.Default.RequiredPcrs;

    /// <summary>
    /// The PCRs to quote with <paramref name="eventLog"/>: the boot PCRs, those the cluster asked for with its nonce
    /// (<paramref name="requested"/>), and every PCR the log measures (the cluster refuses log entries it cannot
    /// check), in the SHA-256 bank or, for a legacy SHA-1 log, in the SHA-1 bank too. A log we cannot read goes as it
    /// is: the cluster says what is wrong with it.
    /// </summary>
    public static IReadOnlyList<PcrBank> PcrsFor(ReadOnlySpan<byte> eventLog, IReadOnlyList<PcrBank>? requested = null) =>
        QuotePolicy.Union(LogPcrs(eventLog), requested ?? []);

    /// <summary>The PCR selections a challenge carries, bounded (a hostile gateway gets no more than 4 banks of PCRs 0–23).</summary>
    public static IReadOnlyList<PcrBank> Requested(IEnumerable<TPMPCRSelection> selections) =>
        selections.Where(s => s.DigestAlg is TpmAlg.Sha1 or TpmAlg.Sha256 or TpmAlg.Sha384 or TpmAlg.Sha512).Take(QuotePolicy.MaxBanks)
            .Select(s => new PcrBank((ushort)s.DigestAlg, [.. s.Indexes.Where(i => i is >= 0 and <= 23).Distinct().Order()]))
            .Where(b => b.Pcrs.Count > 0).ToList();

    private static IReadOnlyList<PcrBank> LogPcrs(ReadOnlySpan<byte> eventLog)
    {
        if (eventLog.IsEmpty)
        {
            return QuotedPcrs;
        }
        TcgEventLog log;
        try
        {
            log = TcgEventLog.Parse(eventLog);
        }
        catch (TpmFormatException)
        {
            return QuotedPcrs;
        }
        var measured = log.MeasuredPcrs;
        var sha256 = new PcrBank(TpmAlg.Sha256, [.. QuotedPcrs[0].Pcrs.Union(log.Banks.ContainsKey(TpmAlg.Sha256) ? measured : []).Order()]);
        return log.Banks.ContainsKey(TpmAlg.Sha256) || measured.Count == 0 ? [sha256] : [sha256, new PcrBank(TpmAlg.Sha1, [.. measured.Order()])];
    }

    /// <param name="token">The enrollment token, or null to auto-enroll.</param>
    public static async Task<Device> EnrollAsync(GrpcChannel channel, string? token, TpmDevice tpm, DeviceCollectedData data, CancellationToken cancellationToken)
    {
        var ek = tpm.EndorsementKey();
        var akPublic = tpm.AttestationKey(ek);
        using var call = new DeviceTrustService.DeviceTrustServiceClient(channel).EnrollDevice(cancellationToken: cancellationToken);
        await call.RequestStream.WriteAsync(new EnrollDeviceRequest
        {
            Init = new EnrollDeviceInit
            {
                // No token: auto-enrollment (the gateway checks the data against the device's MDM profile).
                Token = token ?? "",
                AutoEnroll = token is null,
                CredentialId = TpmCredentials.IdOf(TpmPublic.ParseSized(akPublic)),
                DeviceData = data,
                Tpm = new TPMEnrollPayload
                {
                    EkCert = ek.Certificate is null ? ByteString.Empty : ByteString.CopyFrom(ek.Certificate),
                    EkKey = ByteString.CopyFrom(ek.Public),
                    AttestationParameters = new TPMAttestationParameters { Public = ByteString.CopyFrom(akPublic) },
                },
            },
        }, cancellationToken);
        if (!await call.ResponseStream.MoveNext(cancellationToken) || call.ResponseStream.Current.TpmChallenge is not { } challenge)
        {
            throw DeviceTrustException.FailedPrecondition("the gateway did not send a TPM challenge");
        }
        byte[] secret;
        using (ClientTrace.Source.StartActivity("TPM: activate the credential"))
        {
            secret = tpm.ActivateCredential(ek, challenge.EncryptedCredential.CredentialBlob.ToByteArray(), challenge.EncryptedCredential.Secret.ToByteArray());
        }
        var response = new TPMEnrollChallengeResponse { Solution = ByteString.CopyFrom(secret), EventLog = EventLog(DeviceCredentialStore.TpmSpec) };
        AddQuote(tpm, challenge.AttestationNonce.ToByteArray(), Requested(challenge.QuotePcrs), response.EventLog, response.Quotes, response.Pcrs);
        await call.RequestStream.WriteAsync(new EnrollDeviceRequest { TpmChallengeResponse = response }, cancellationToken);
        if (!await call.ResponseStream.MoveNext(cancellationToken) || call.ResponseStream.Current.Success is not { } success)
        {
            throw DeviceTrustException.FailedPrecondition("the gateway did not confirm the enrollment");
        }
        await call.RequestStream.CompleteAsync();
        return success.Device;
    }

    /// <summary>
    /// Quotes with the persisted AK; <paramref name="credentialId"/> is the one recorded at enrollment, so a login
    /// reads neither the EK nor its certificate.
    /// </summary>
    public static async Task<UserCertificates> AuthenticateAsync(GrpcChannel channel, string deviceId, string credentialId, TpmDevice tpm, DeviceCollectedData data,
        CancellationToken cancellationToken) =>
        (await AuthenticationAsync(channel, new AuthenticateDeviceInit { CredentialId = credentialId, DeviceData = data, DeviceId = deviceId }, tpm,
            cancellationToken)).UserCertificates ?? throw DeviceTrustException.FailedPrecondition("the gateway sent no certificate");

    /// <summary>Device web authentication with the TPM: the same quote, bound to the console's web token; returns the confirmation.</summary>
    public static async Task<DeviceWebConfirmation> AuthenticateForWebAsync(GrpcChannel channel, string deviceId, string credentialId, TpmDevice tpm,
        DeviceCollectedData data, string webToken, CancellationToken cancellationToken) =>
        (await AuthenticationAsync(channel, new AuthenticateDeviceInit { CredentialId = credentialId, DeviceData = data, DeviceId = deviceId, DeviceWebToken = webToken },
            tpm, cancellationToken)).WebConfirmation ?? throw DeviceTrustException.FailedPrecondition("the gateway sent no device web confirmation");

    private static async Task<AuthenticateDeviceResponse> AuthenticationAsync(GrpcChannel channel, AuthenticateDeviceInit init, TpmDevice tpm,
        CancellationToken cancellationToken)
    {
        using var call = new DeviceTrustService.DeviceTrustServiceClient(channel).AuthenticateDevice(cancellationToken: cancellationToken);
        await call.RequestStream.WriteAsync(new AuthenticateDeviceRequest { Init = init }, cancellationToken);
        if (!await call.ResponseStream.MoveNext(cancellationToken) || call.ResponseStream.Current.TpmChallenge is not { } challenge)
        {
            throw DeviceTrustException.FailedPrecondition("the gateway did not send a TPM challenge");
        }
        var response = new TPMAuthenticateDeviceChallengeResponse { EventLog = EventLog(DeviceCredentialStore.TpmSpec) };
        AddQuote(tpm, challenge.AttestationNonce.ToByteArray(), Requested(challenge.QuotePcrs), response.EventLog, response.Quotes, response.Pcrs);
        await call.RequestStream.WriteAsync(new AuthenticateDeviceRequest { TpmChallengeResponse = response }, cancellationToken);
        if (!await call.ResponseStream.MoveNext(cancellationToken))
        {
            throw DeviceTrustException.FailedPrecondition("the gateway ended the ceremony early");
        }
        var last = call.ResponseStream.Current;
        await call.RequestStream.CompleteAsync();
        return last;
    }

    /// <summary>The firmware's measurement log, which describes the kernel's TPM (never a software TPM named by DTSH_TPM).</summary>
    public const string KernelEventLog = "/sys/kernel/security/tpm0/binary_bios_measurements";

    /// <summary>
    /// A copy of <see cref="KernelEventLog"/> that root publishes at boot for users (docs/examples/devicetrust-eventlog.service):
    /// the kernel lets only root read the original. A copy proves nothing by itself — the cluster replays it against the quote.
    /// </summary>
    public const string PublishedEventLog = "/run/devicetrust/binary_bios_measurements";

    /// <summary>
    /// The event log to send with quotes: the kernel's when the kernel's TPM is the one quoting, read from the first of
    /// <paramref name="paths"/> (default: the kernel's file, then its published copy) that can be read.
    /// </summary>
    public static ByteString EventLog(string? tpmSpec, params string[] paths)
    {
        if (tpmSpec is not null && !tpmSpec.StartsWith("device:", StringComparison.Ordinal))
        {
            return ByteString.Empty;
        }
        foreach (var path in paths.Length == 0 ? [KernelEventLog, PublishedEventLog] : paths)
        {
            try
            {
                // securityfs reports size 0: read to the end, but never more than the cluster accepts
                using var file = File.OpenRead(path);
                var buffer = new byte[TcgEventLog.MaxBytes + 1];
                var length = 0;
                int read;
                while (length < buffer.Length && (read = file.Read(buffer, length, buffer.Length - length)) > 0)
                {
                    length += read;
                }
                return ByteString.CopyFrom(buffer, 0, length);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // not readable (root only on most systems) or not there: try the next; without any, the quote goes alone
            }
        }
        return ByteString.Empty;
    }

    private static void AddQuote(TpmDevice tpm, byte[] nonce, IReadOnlyList<PcrBank> requested, ByteString eventLog,
        Google.Protobuf.Collections.RepeatedField<TPMQuote> quotes, Google.Protobuf.Collections.RepeatedField<TPMPCR> pcrs)
    {
        using var span = ClientTrace.Source.StartActivity("TPM: quote the PCRs");
        var (attest, signature, values) = tpm.Quote(nonce, PcrsFor(eventLog.Span, requested));
        quotes.Add(new TPMQuote { Quote = ByteString.CopyFrom(attest), Signature = ByteString.CopyFrom(signature) });
        pcrs.AddRange(values.Select(v => new TPMPCR { Index = v.Index, Digest = ByteString.CopyFrom(v.Digest), DigestAlg = v.Hash }));
    }
}
