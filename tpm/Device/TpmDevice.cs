using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.Structures;
using DeviceTrust.Tpm.Verification;

namespace DeviceTrust.Tpm.Device;

/// <summary>The device's endorsement key: its public area, its certificate when the TPM has one, and where it is loaded.</summary>
public sealed record EndorsementKey(byte[] Public, byte[]? Certificate, uint Handle, bool Transient);

/// <summary>
/// What a device does with its TPM for the ceremonies (TPM-NOTES, DEVICE-SIDE §4): find the EK (persisted by the
/// manufacturer or re-created from the TCG template, which gives the same key), read its certificate, keep one
/// attestation key persisted under it, activate credentials and quote.
/// </summary>
public sealed class TpmDevice(TpmClient tpm) : IDisposable
{
    public const uint RsaEkHandle = 0x81010001;
    public const uint EccEkHandle = 0x81010002;
    // TCG EK Credential Profile NV indices: low range, then the high range newer TPMs use.
    public static readonly uint[] RsaEkCertificateIndices = [0x01C00002, 0x01C00012];
    public static readonly uint[] EccEkCertificateIndices = [0x01C0000A, 0x01C00014];

    /// <summary>Where our attestation key lives (owner hierarchy persistent range).</summary>
    public const uint AttestationKeyHandle = 0x81000201;

    private static readonly byte[] EkPolicy = Convert.FromHexString("837197674484B3F81A90CC8D46A5D724FD52D76E06520B64F2A1DA1B331469AA");

    private readonly List<uint> _transients = [];

    public static TpmDevice Open(string? spec) => new(new TpmClient(TpmTransports.Open(spec)));

    /// <summary>TCG EK Credential Profile template L-1: RSA-2048, SHA-256, AES-128-CFB, PolicySecret(endorsement).</summary>
    public static byte[] RsaEkTemplate() =>
        new TpmWriter().U16(TpmAlg.Rsa).U16(TpmAlg.Sha256).U32(0x000300B2).Sized(EkPolicy).U16(TpmAlg.Aes).U16(128).U16(TpmAlg.Cfb)
            .U16(TpmAlg.Null).U16(2048).U32(0).Sized(new byte[256]).ToArray();

    /// <summary>TCG template L-2: ECC NIST P-256.</summary>
    public static byte[] EccEkTemplate() =>
        new TpmWriter().U16(TpmAlg.Ecc).U16(TpmAlg.Sha256).U32(0x000300B2).Sized(EkPolicy).U16(TpmAlg.Aes).U16(128).U16(TpmAlg.Cfb)
            .U16(TpmAlg.Null).U16(TpmAlg.CurveP256).U16(TpmAlg.Null).Sized(new byte[32]).Sized(new byte[32]).ToArray();

    /// <summary>A restricted ECDSA P-256 signing key (fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth): fast to make and to use.</summary>
    public static byte[] AttestationKeyTemplate() =>
        new TpmWriter().U16(TpmAlg.Ecc).U16(TpmAlg.Sha256).U32(0x00050072).Sized([]).U16(TpmAlg.Null).U16(TpmAlg.EcDsa).U16(TpmAlg.Sha256)
            .U16(TpmAlg.CurveP256).U16(TpmAlg.Null).Sized([]).Sized([]).ToArray();

    /// <summary>The RSA EK if the TPM has one, else the ECC EK; with its certificate from NV when present.</summary>
    public EndorsementKey EndorsementKey()
    {
        foreach (var (handle, template, indices) in new[] { (RsaEkHandle, RsaEkTemplate(), RsaEkCertificateIndices), (EccEkHandle, EccEkTemplate(), EccEkCertificateIndices) })
        {
            var certificate = indices.Select(index => tpm.NvDataSize(index) is { } size ? tpm.NvRead(index, size) : null).FirstOrDefault(c => c is not null);
            if (tpm.ReadPublic(handle) is { } persisted && IsEk(persisted.Public))
            {
                return new EndorsementKey(persisted.Public, certificate, handle, Transient: false);
            }
            if (certificate is null && handle == RsaEkHandle)
            {
                continue; // prefer a key with a certificate; fall back to re-creating the RSA EK below
            }
            var (created, outPublic) = tpm.CreatePrimary(template);
            _transients.Add(created);
            return new EndorsementKey(outPublic, certificate, created, Transient: true);
        }
        var (rsa, rsaPublic) = tpm.CreatePrimary(RsaEkTemplate());
        _transients.Add(rsa);
        return new EndorsementKey(rsaPublic, null, rsa, Transient: true);
    }

    /// <summary>
    /// The attestation key persisted at <see cref="AttestationKeyHandle"/>, created under <paramref name="ek"/> if it
    /// is not there (or is not a valid AK). Returns its TPM2B_PUBLIC.
    /// </summary>
    public byte[] AttestationKey(EndorsementKey ek)
    {
        if (tpm.ReadPublic(AttestationKeyHandle) is { } existing)
        {
            if (IsAk(existing.Public))
            {
                return existing.Public;
            }
            tpm.EvictControl(AttestationKeyHandle, AttestationKeyHandle);
        }
        var (sizedPrivate, sizedPublic) = tpm.WithEndorsementPolicy(auth => tpm.Create(ek.Handle, auth, AttestationKeyTemplate()));
        var loaded = tpm.WithEndorsementPolicy(auth => tpm.Load(ek.Handle, auth, sizedPrivate, sizedPublic));
        try
        {
            tpm.EvictControl(loaded, AttestationKeyHandle);
        }
        finally
        {
            tpm.FlushContext(loaded);
        }
        return sizedPublic;
    }

    /// <summary>Recovers the server's credential: only this TPM, with this AK loaded, can.</summary>
    public byte[] ActivateCredential(EndorsementKey ek, byte[] idObject, byte[] encryptedSecret) =>
        tpm.WithEndorsementPolicy(auth => tpm.ActivateCredential(AttestationKeyHandle, ek.Handle, auth, idObject, encryptedSecret));

    /// <summary>A quote over <paramref name="selection"/> with the server's nonce, and the PCR values it covers.</summary>
    public (byte[] Attest, byte[] Signature, IReadOnlyList<PcrValue> Pcrs) Quote(byte[] nonce, IReadOnlyList<PcrBank> selection)
    {
        for (var attempt = 0; ; attempt++)
        {
            var before = tpm.PcrRead(selection);
            var (attest, signature) = tpm.Quote(AttestationKeyHandle, nonce, selection);
            var after = tpm.PcrRead(selection);
            // a measurement between the reads would make the digest disagree: read and quote again
            if (before.Zip(after).All(p => p.First.Digest.AsSpan().SequenceEqual(p.Second.Digest)) || attempt >= 3)
            {
                return (attest, signature, after.Select(p => new PcrValue(p.Hash, p.Index, p.Digest)).ToList());
            }
        }
    }

    public void Dispose()
    {
        foreach (var handle in _transients)
        {
            try
            {
                tpm.FlushContext(handle);
            }
            catch (TpmDeviceException)
            {
                // the kernel resource manager flushes on close anyway
            }
        }
        tpm.Dispose();
    }

    private static bool IsEk(byte[] sizedPublic)
    {
        try
        {
            EkChecks.CheckTemplate(TpmPublic.ParseSized(sizedPublic));
            return true;
        }
        catch (Exception e) when (e is TpmFormatException or TpmVerificationException)
        {
            return false;
        }
    }

    private static bool IsAk(byte[] sizedPublic)
    {
        try
        {
            // a SHA-1 AK is kept: whether it is good enough is the cluster's decision (allow-sha1-signatures)
            AkChecks.Check(TpmPublic.ParseSized(sizedPublic), allowSha1: true);
            return true;
        }
        catch (Exception e) when (e is TpmFormatException or TpmVerificationException)
        {
            return false;
        }
    }
}
