using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.Structures;

namespace DeviceTrust.Tpm.Verification;

/// <summary>
/// Endorsement key checks (TPM-NOTES §2.9): the public area is an EK (a restricted decryption storage key), the
/// certificate carries exactly that key, and the certificate chains to one of the allowed manufacturer CAs.
/// </summary>
public static class EkChecks
{
    public const string EkCertificateEku = "2.23.133.8.1";

    private const ObjectAttributes Required =
        ObjectAttributes.FixedTpm | ObjectAttributes.FixedParent | ObjectAttributes.SensitiveDataOrigin | ObjectAttributes.Restricted | ObjectAttributes.Decrypt;

    public static void CheckTemplate(TpmPublic ek)
    {
        var missing = Required & ~ek.Attributes;
        if (missing != 0)
        {
            throw new TpmVerificationException($"EK attributes lack {missing}: not an endorsement key");
        }
        if (ek.Attributes.HasFlag(ObjectAttributes.Sign))
        {
            throw new TpmVerificationException("EK has the sign attribute: an endorsement key only decrypts");
        }
        if (ek.SymmetricAlg != TpmAlg.Aes)
        {
            throw new TpmVerificationException("EK has no AES symmetric definition");
        }
        if (ek.NameAlg is not (TpmAlg.Sha256 or TpmAlg.Sha384))
        {
            throw new TpmVerificationException($"EK nameAlg {TpmAlg.Name(ek.NameAlg)}: SHA-256 or SHA-384 required");
        }
    }

    /// <summary>Loads an EK certificate as read from NV: DER by its own length (real TPMs pad the index or wrap it).</summary>
    public static X509Certificate2 LoadCertificate(ReadOnlySpan<byte> nvContents)
    {
        var data = nvContents;
        if (data.Length > 5 && data[0] == 0x10 && data[1] == 0x01 && data[2] == 0x00)
        {
            data = data[5..]; // old PC Client header: 10 01 00 <u16 length>
        }
        try
        {
            _ = System.Formats.Asn1.AsnDecoder.ReadEncodedValue(data, System.Formats.Asn1.AsnEncodingRules.BER, out _, out _, out var consumed);
            return X509CertificateLoader.LoadCertificate(data[..consumed]);
        }
        catch (Exception e) when (e is CryptographicException or System.Formats.Asn1.AsnContentException)
        {
            throw new TpmVerificationException($"EK certificate is not an X.509 certificate: {e.Message}", e);
        }
    }

    public static void CheckCertificateKey(X509Certificate2 certificate, TpmPublic ek)
    {
        if (!certificate.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(ek.SubjectPublicKeyInfo()))
        {
            throw new TpmVerificationException("EK certificate key does not match the EK public area");
        }
    }

    /// <summary>
    /// Chains the EK certificate to one of <paramref name="allowedRoots"/> (custom root trust only; the OS store plays
    /// no part), with <paramref name="intermediates"/> as helpers, at <paramref name="verificationTime"/>. The TCG
    /// profile's critical SAN and EKU are accepted. Returns null when it chains, else the reason.
    /// </summary>
    public static string? ChainError(X509Certificate2 certificate, IEnumerable<X509Certificate2> allowedRoots, IEnumerable<X509Certificate2> intermediates,
        DateTimeOffset verificationTime) => ChainError(certificate, allowedRoots, intermediates, verificationTime, out _);

    /// <summary>As <see cref="ChainError(X509Certificate2, IEnumerable{X509Certificate2}, IEnumerable{X509Certificate2}, DateTimeOffset)"/>, and the subject of the allowed CA the chain ends at.</summary>
    public static string? ChainError(X509Certificate2 certificate, IEnumerable<X509Certificate2> allowedRoots, IEnumerable<X509Certificate2> intermediates,
        DateTimeOffset verificationTime, out string anchor)
    {
        anchor = "";
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = verificationTime.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        var roots = allowedRoots.ToList();
        if (roots.Count == 0)
        {
            return "no EK certificate CAs are configured";
        }
        foreach (var root in roots)
        {
            if (root.SubjectName.RawData.AsSpan().SequenceEqual(root.IssuerName.RawData))
            {
                chain.ChainPolicy.CustomTrustStore.Add(root);
            }
            else
            {
                // An allowed intermediate: trust it as an anchor too (the manufacturer's issuing CA).
                chain.ChainPolicy.CustomTrustStore.Add(root);
                chain.ChainPolicy.ExtraStore.Add(root);
            }
        }
        chain.ChainPolicy.ExtraStore.AddRange(intermediates.ToArray());
        if (chain.Build(certificate))
        {
            anchor = chain.ChainElements[^1].Certificate.Subject;
            return null;
        }
        var problems = chain.ChainStatus.Where(s => s.Status != X509ChainStatusFlags.NoError).ToList();
        return problems.Count == 0 ? "the chain does not verify" : string.Join("; ", problems.Select(s => $"{s.Status}: {s.StatusInformation.Trim()}"));
    }
}
