using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Grains.Attestation;
using DeviceTrust.Grains.Config;
using DeviceTrust.Proto.V1;
using Google.Protobuf.Collections;

namespace DeviceTrust.Gateway.Ceremonies;

/// <summary>TPM messages from the wire, bounded and shaped before they reach a grain; and the cluster's TPM policy.</summary>
public static class TpmEvidence
{
    private const int MaxStructure = 4096;

    public static TpmEnrollmentOffer Offer(TPMEnrollPayload tpm, string credentialId)
    {
        if (tpm.AttestationParameters is null || tpm.AttestationParameters.Public.IsEmpty)
        {
            throw DeviceTrustException.InvalidArgument("tpm.attestation_parameters.public (the AK's TPM2B_PUBLIC) is required");
        }
        Bounded(tpm.EkCert.Length, "tpm.ek_cert");
        Bounded(tpm.EkKey.Length, "tpm.ek_key");
        Bounded(tpm.AttestationParameters.Public.Length, "tpm.attestation_parameters.public");
        var parameters = tpm.AttestationParameters;
        TpmCreationEvidence? creation = null;
        var parts = new[] { parameters.CreateData, parameters.CreateAttestation, parameters.CreateSignature };
        if (parts.Any(p => !p.IsEmpty))
        {
            if (parts.Any(p => p.IsEmpty))
            {
                throw DeviceTrustException.InvalidArgument("send all of create_data, create_attestation and create_signature, or none");
            }
            foreach (var part in parts)
            {
                Bounded(part.Length, "tpm.attestation_parameters creation evidence");
            }
            creation = new TpmCreationEvidence(parameters.CreateData.ToByteArray(), parameters.CreateAttestation.ToByteArray(), parameters.CreateSignature.ToByteArray());
        }
        return new TpmEnrollmentOffer(tpm.EkCert.IsEmpty ? null : tpm.EkCert.ToByteArray(), tpm.EkKey.ToByteArray(),
            parameters.Public.ToByteArray(), credentialId, creation);
    }

    /// <summary>One quote, the PCR values it covers, and optionally the TCG event log that must replay to them.</summary>
    public static TpmQuoteEvidence Quote(RepeatedField<TPMQuote> quotes, RepeatedField<TPMPCR> pcrs, Google.Protobuf.ByteString eventLog)
    {
        if (quotes.Count != 1)
        {
            throw DeviceTrustException.InvalidArgument($"exactly one quote is expected, not {quotes.Count}");
        }
        if (eventLog.Length > Tpm.EventLog.TcgEventLog.MaxBytes)
        {
            throw DeviceTrustException.InvalidArgument($"event_log is larger than {Tpm.EventLog.TcgEventLog.MaxBytes} bytes");
        }
        if (pcrs.Count > 8 * 24)
        {
            throw DeviceTrustException.InvalidArgument("too many PCR values");
        }
        Bounded(quotes[0].Quote.Length, "quote");
        Bounded(quotes[0].Signature.Length, "signature");
        return new TpmQuoteEvidence(quotes[0].Quote.ToByteArray(), quotes[0].Signature.ToByteArray(), pcrs.Select(Pcr).ToList(), eventLog.ToByteArray());
    }

    private static TpmPcr Pcr(TPMPCR pcr)
    {
        if (pcr.Index is < 0 or > 23)
        {
            throw DeviceTrustException.InvalidArgument($"PCR index {pcr.Index} is out of range");
        }
        if (pcr.DigestAlg is not (0x0004 or 0x000B or 0x000C or 0x000D) || pcr.Digest.Length > 64)
        {
            throw DeviceTrustException.InvalidArgument($"PCR {pcr.Index}: unsupported digest algorithm 0x{pcr.DigestAlg:x4}");
        }
        return new TpmPcr((ushort)pcr.DigestAlg, pcr.Index, pcr.Digest.ToByteArray());
    }

    /// <summary>The cluster's rules for device credentials, from one cached read of its configuration.</summary>
    public static DevicePolicy Policy(DeviceTrustSettings config) =>
        new(config.EkCertAllowedCas, AttestationPolicy.Parse(config.MinAttestation), config.AllowSha1Signatures)
        {
            MinOsVersions = config.MinOsVersions,
            QuotePcrs = config.QuotePcrs,
            BootPolicy = config.BootPolicy,
        };

    /// <summary>The PCRs to ask the device to quote, sent with the nonce.</summary>
    public static IEnumerable<TPMPCRSelection> Selection(DevicePolicy policy) =>
        policy.RequiredPcrs().Select(bank =>
        {
            var selection = new TPMPCRSelection { DigestAlg = bank.Hash };
            selection.Indexes.AddRange(bank.Pcrs);
            return selection;
        });

    private static void Bounded(int length, string field)
    {
        if (length > MaxStructure)
        {
            throw DeviceTrustException.InvalidArgument($"{field} is larger than {MaxStructure} bytes");
        }
    }
}
