using System.CommandLine;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.Structures;

namespace DeviceTrust.Cli.Dtctl.Devices;

/// <summary>
/// <c>--ek-pub FILE | --ek-hash sha256:…</c>: the EK a device must enroll with, from a file an operator or an MDM
/// collected (PEM or DER public key, an EK certificate, or the TPM2B_PUBLIC that <c>tpm2_createek -u</c> writes) or
/// as the hash itself. Sent as <see cref="EkPin"/> text; the file never leaves this machine.
/// </summary>
public sealed class EkOptions(bool mayUnpin)
{
    private const int MaxFile = 16 * 1024;

    private readonly Option<string?> _file = new("--ek-pub")
    {
        Description = "Pin the device's EK from a file: PEM or DER public key or certificate, or a TPM2B_PUBLIC (tpm2_createek -u)",
    };

    private readonly Option<string?> _hash = new("--ek-hash")
    {
        Description = mayUnpin
            ? "Pin the device's EK by hash: sha256:<hex> of its DER SubjectPublicKeyInfo; none unpins it"
            : "Pin the device's EK by hash: sha256:<hex> of its DER SubjectPublicKeyInfo",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(_file);
        command.Options.Add(_hash);
    }

    /// <summary>The pin to send ("" to unpin), or null when neither option was given.</summary>
    public string? Read(ParseResult result)
    {
        var file = result.GetValue(_file);
        var hash = result.GetValue(_hash);
        if (file is not null && hash is not null)
        {
            throw DeviceTrustException.InvalidArgument("pass --ek-pub or --ek-hash, not both");
        }
        if (hash is not null)
        {
            return mayUnpin && hash == "none" ? "" : EkPin.Text(EkPin.Parse(hash));
        }
        return file is null ? null : EkPin.Text(EkPin.Of(SubjectPublicKeyInfo(file)));
    }

    /// <summary>The EK in <paramref name="path"/> as canonical DER SubjectPublicKeyInfo (re-encoded, as the server encodes it).</summary>
    public static byte[] SubjectPublicKeyInfo(string path)
    {
        byte[] bytes;
        try
        {
            if (new FileInfo(path).Length > MaxFile)
            {
                throw DeviceTrustException.InvalidArgument($"--ek-pub {path} is larger than {MaxFile} bytes: it is not an EK");
            }
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw DeviceTrustException.InvalidArgument($"--ek-pub {path} cannot be read: {e.Message}");
        }
        var text = System.Text.Encoding.ASCII.GetString(bytes);
        if (text.Contains("-----BEGIN ", StringComparison.Ordinal))
        {
            if (!PemEncoding.TryFind(text, out var fields))
            {
                throw DeviceTrustException.InvalidArgument($"--ek-pub {path}: the PEM cannot be read");
            }
            var label = text[fields.Label];
            var der = Convert.FromBase64String(text[fields.Base64Data]);
            return label switch
            {
                "PUBLIC KEY" => Canonical(der, path),
                "CERTIFICATE" => OfCertificate(der, path),
                _ => throw DeviceTrustException.InvalidArgument($"--ek-pub {path} holds a PEM \"{label}\": give the EK's PUBLIC KEY or its CERTIFICATE"),
            };
        }
        if (bytes.Length > 0 && bytes[0] == 0x30)
        {
            try
            {
                return Canonical(bytes, path);
            }
            catch (DeviceTrustException)
            {
                return OfCertificate(bytes, path);
            }
        }
        try
        {
            return TpmPublic.ParseSized(bytes).SubjectPublicKeyInfo();
        }
        catch (TpmFormatException e)
        {
            throw DeviceTrustException.InvalidArgument(
                $"--ek-pub {path} is neither a PEM or DER public key or certificate nor a TPM2B_PUBLIC: {e.Message}");
        }
    }

    private static byte[] Canonical(byte[] der, string path)
    {
        try
        {
            var key = PublicKey.CreateFromSubjectPublicKeyInfo(der, out var read);
            if (read != der.Length)
            {
                throw DeviceTrustException.InvalidArgument($"--ek-pub {path}: bytes follow the public key");
            }
            using var rsa = key.GetRSAPublicKey();
            if (rsa is not null)
            {
                return rsa.ExportSubjectPublicKeyInfo();
            }
            using var ecdsa = key.GetECDsaPublicKey();
            return ecdsa?.ExportSubjectPublicKeyInfo() ?? throw DeviceTrustException.InvalidArgument($"--ek-pub {path}: an EK is an RSA or ECC key");
        }
        catch (CryptographicException e)
        {
            throw DeviceTrustException.InvalidArgument($"--ek-pub {path} is not a DER public key: {e.Message}");
        }
    }

    private static byte[] OfCertificate(byte[] der, string path)
    {
        try
        {
            using var certificate = X509CertificateLoader.LoadCertificate(der);
            return Canonical(certificate.PublicKey.ExportSubjectPublicKeyInfo(), path);
        }
        catch (CryptographicException e)
        {
            throw DeviceTrustException.InvalidArgument($"--ek-pub {path} is not a DER public key or certificate: {e.Message}");
        }
    }
}
