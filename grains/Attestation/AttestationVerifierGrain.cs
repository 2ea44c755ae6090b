using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.Credentials;
using DeviceTrust.Tpm.Structures;
using DeviceTrust.Tpm.Verification;
using Orleans.Concurrency;

namespace DeviceTrust.Grains.Attestation;

[StatelessWorker]
public sealed class AttestationVerifierGrain(TimeProvider time) : Grain, IAttestationVerifierGrain
{
    public Task<TpmEnrollmentPlan> PrepareEnrollmentAsync(TpmEnrollmentOffer offer, DevicePolicy policy, string pinnedEkSha256 = "")
    {
        var ak = Parse(offer.AkPublic, "attestation key");
        Refuse(() => AkChecks.Check(ak, policy.AllowSha1Signatures));
        if (!string.Equals(offer.CredentialId, TpmCredentials.IdOf(ak), StringComparison.Ordinal))
        {
            throw DeviceTrustException.InvalidArgument("credential_id must be the hex SHA-256 of the attestation key's public area");
        }
        if (offer.EkPublic is not { Length: > 0 })
        {
            throw DeviceTrustException.InvalidArgument("tpm init must carry ek_key (the EK's TPM2B_PUBLIC)");
        }
        var ek = Parse(offer.EkPublic, "endorsement key");
        var ekSha256 = EkPin.Of(Refuse(ek.SubjectPublicKeyInfo));
        // The inventory's word comes first: whatever certificate comes with it, another EK is not this device's TPM.
        if (pinnedEkSha256.Length > 0 && !string.Equals(ekSha256, pinnedEkSha256, StringComparison.Ordinal))
        {
            throw DeviceTrustException.PermissionDenied(
                $"the device's EK ({EkPin.Text(ekSha256)}) is not the one pinned in the inventory ({EkPin.Text(pinnedEkSha256)})");
        }
        var pinned = pinnedEkSha256.Length > 0;
        var type = pinned ? AttestationType.TpmEkPubPinned : AttestationType.TpmEkPub;
        var serial = "";
        var anchor = "";
        if (offer.EkCertificate is { Length: > 0 } der)
        {
            using var certificate = Refuse(() => EkChecks.LoadCertificate(der));
            serial = certificate.SerialNumber;
            Refuse(() => EkChecks.CheckCertificateKey(certificate, ek));
            type = pinned ? AttestationType.TpmEkPubPinned : AttestationType.TpmEkCert;
            if (policy.EkCertAllowedCas.Count > 0)
            {
                var roots = policy.EkCertAllowedCas.Select(pem => X509Certificate2.CreateFromPem(pem)).ToList();
                var error = EkChecks.ChainError(certificate, roots, [], time.GetUtcNow(), out anchor);
                if (error is not null)
                {
                    throw DeviceTrustException.PermissionDenied($"EK certificate does not chain to an allowed CA: {error}");
                }
                type = AttestationType.TpmEkCertTrusted;
            }
        }
        else if (policy.EkCertAllowedCas.Count > 0 && !pinned)
        {
            throw DeviceTrustException.PermissionDenied(
                "the cluster requires an EK certificate from an allowed CA, and the device sent only its EK public key (or pin its EK in the inventory)");
        }
        Refuse(() => EkChecks.CheckTemplate(ek));
        if (offer.Creation is { } creation)
        {
            var data = Refuse(() => AkChecks.CheckCreation(ak, creation.CreateData, creation.Attestation, creation.Signature));
            if (!data.ParentName.AsSpan().SequenceEqual(ek.Name()))
            {
                throw DeviceTrustException.PermissionDenied("the AK's creation data names another parent than the EK");
            }
        }
        AttestationPolicy.EnsureAtLeast(type, policy.MinimumAttestation);
        var secret = RandomNumberGenerator.GetBytes(32);
        var made = CredentialMaker.Make(ek, ak.Name(), secret);
        var underEk = QuoteVerifier.QualifiedName(ak.NameAlg, QuoteVerifier.QualifiedName(ek.NameAlg, QuoteVerifier.EndorsementHierarchy, ek.Name()), ak.Name());
        return Task.FromResult(new TpmEnrollmentPlan(made.IdObject, made.EncryptedSecret, secret, type, serial, ak.SubjectPublicKeyInfo(), underEk, ekSha256)
        { EkCertificateCa = anchor });
    }

    public Task<TpmQuoteFacts> VerifyQuoteAsync(byte[] akPublic, TpmQuoteEvidence evidence, byte[] nonce, DevicePolicy policy)
    {
        var ak = Parse(akPublic, "attestation key");
        var required = new QuotePolicy(Refuse(policy.ConfiguredPcrs))
        {
            AllowSha1Signatures = policy.AllowSha1Signatures,
        };
        var verified = Refuse(() => QuoteEvidence.VerifyBoot(ak, evidence.Attest, evidence.Signature, nonce,
            evidence.Pcrs.Select(p => new PcrValue(p.Hash, p.Index, p.Digest)).ToList(), evidence.EventLog, required, BootPolicyYaml.Parse(policy.BootPolicy)));
        var quote = verified.Quote;
        var facts = verified.Boot;
        var boot = new BootRecord(default, verified.Pcrs.Select(p => new QuotedPcr(TpmAlg.Name(p.Hash), p.Index, Convert.ToHexStringLower(p.Digest))).ToList(),
            facts?.LogSha256 ?? "", facts?.Events ?? 0, facts?.SecureBoot, facts is null ? "no event log was sent" : facts.SecureBootUnknown,
            facts?.BootApplications.Take(BootFacts.MaxBootApplications).ToList() ?? [], facts?.DbxSha256?.Count);
        return Task.FromResult(new TpmQuoteFacts(new TpmClock(quote.Clock, quote.ResetCount, quote.RestartCount), quote.QualifiedSigner, boot));
    }

    private static TpmPublic Parse(byte[] sized, string what)
    {
        try
        {
            return TpmPublic.ParseSized(sized);
        }
        catch (TpmFormatException e)
        {
            throw DeviceTrustException.InvalidArgument($"{what} is malformed: {e.Message}");
        }
    }

    private static void Refuse(Action check) => Refuse<object?>(() => { check(); return null; });

    private static T Refuse<T>(Func<T> check)
    {
        try
        {
            return check();
        }
        catch (TpmVerificationException e)
        {
            throw DeviceTrustException.PermissionDenied(e.Message);
        }
        catch (TpmFormatException e)
        {
            throw DeviceTrustException.InvalidArgument(e.Message);
        }
    }
}
