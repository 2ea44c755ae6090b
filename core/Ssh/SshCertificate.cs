using System.Security.Cryptography;

namespace DeviceTrust.Core.Ssh;

public enum SshCertificateType : uint
{
    User = 1,
    Host = 2,
}

/// <summary>
/// An OpenSSH certificate (PROTOCOL.certkeys, the <c>-cert-v01@openssh.com</c> types): the subject key, who and what
/// it is for, when it is valid, its options and extensions, and the CA's signature over all of it. Built by
/// <see cref="SshCertificateAuthority"/> and parsed from untrusted bytes by <see cref="Parse"/>, which bounds every field.
/// </summary>
public sealed class SshCertificate
{
    public const string Suffix = "-cert-v01@openssh.com";
    public const int MaxBytes = 16 * 1024;
    public const int MaxPrincipals = 256;
    public const int MaxOptions = 64;

    /// <summary>The <c>valid_before</c> meaning "forever".</summary>
    public const ulong Forever = ulong.MaxValue;

    private byte[] _blob = [];

    public required SshPublicKey Key { get; init; }
    public required byte[] Nonce { get; init; }
    public required ulong Serial { get; init; }
    public required SshCertificateType Type { get; init; }
    public required string KeyId { get; init; }
    public required IReadOnlyList<string> Principals { get; init; }
    public required ulong ValidAfter { get; init; }
    public required ulong ValidBefore { get; init; }

    /// <summary>Name → value; a null value is a flag (its data is the empty string on the wire).</summary>
    public required IReadOnlyList<KeyValuePair<string, string?>> CriticalOptions { get; init; }

    public required IReadOnlyList<KeyValuePair<string, string?>> Extensions { get; init; }
    public required SshPublicKey SignatureKey { get; init; }

    /// <summary>The signature blob: <c>string algorithm, string signature</c>.</summary>
    public required byte[] Signature { get; init; }

    /// <summary>How many leading bytes of <see cref="Blob"/> the signature covers.</summary>
    public int SignedLength { get; private init; }

    /// <summary>The whole certificate, as in field 2 of an <c>-cert.pub</c> line once base64-decoded (sshd's <c>%k</c>).</summary>
    public ReadOnlySpan<byte> Blob => _blob;

    public string CertificateType => Key.Type + Suffix;

    public string Fingerprint => SshText.Fingerprint(_blob);

    public string ToLine(string comment = "") => SshText.Line(CertificateType, _blob, comment);

    public string? Extension(string name) =>
        Extensions.FirstOrDefault(e => e.Key == name) is { Key: not null } found ? found.Value ?? "" : null;

    /// <summary>Whether <paramref name="now"/> falls in [valid_after, valid_before).</summary>
    public bool IsValidAt(DateTimeOffset now)
    {
        var seconds = (ulong)Math.Max(0, now.ToUnixTimeSeconds());
        return seconds >= ValidAfter && seconds < ValidBefore;
    }

    /// <summary>
    /// Whether <paramref name="ca"/> signed this certificate: the signature key is that CA and the signature verifies.
    /// Only ECDSA P-256 CAs (ours) can be checked; anything else is not signed by <paramref name="ca"/>.
    /// </summary>
    public bool IsSignedBy(SshPublicKey ca)
    {
        if (!SignatureKey.Equals(ca) || ca.Type != SshPublicKey.EcdsaP256)
        {
            return false;
        }
        var reader = new SshReader(Signature);
        try
        {
            if (reader.Text("the signature algorithm", 64) != SshPublicKey.EcdsaP256)
            {
                return false;
            }
            var inner = new SshReader(reader.Bytes("the signature", 160));
            reader.EnsureEnd("the signature blob");
            Span<byte> rs = stackalloc byte[64];
            rs.Clear();
            var r = inner.Mpint("r", 32);
            var s = inner.Mpint("s", 32);
            inner.EnsureEnd("the signature");
            r.CopyTo(rs[(32 - r.Length)..32]);
            s.CopyTo(rs[(64 - s.Length)..]);
            using var key = EcdsaOf(ca);
            return key.VerifyData(_blob.AsSpan(0, SignedLength), rs, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        }
        catch (SshFormatException)
        {
            return false;
        }
    }

    internal static ECDsa EcdsaOf(SshPublicKey key)
    {
        var reader = new SshReader(key.Fields);
        reader.Text("the curve name", 16);
        var point = reader.Bytes("the ECDSA point", 65);
        return ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = point.Slice(1, 32).ToArray(), Y = point.Slice(33, 32).ToArray() },
        });
    }

    /// <summary>
    /// Parses a certificate from untrusted bytes. Checks the shape only (bounded fields, a key of a type we accept,
    /// sorted unique option names); whether a CA we trust signed it is <see cref="IsSignedBy"/>.
    /// </summary>
    public static SshCertificate Parse(ReadOnlySpan<byte> blob)
    {
        if (blob.Length > MaxBytes)
        {
            throw new SshFormatException($"the certificate is longer than {MaxBytes} bytes");
        }
        var reader = new SshReader(blob);
        var certType = reader.Text("the certificate type", 64);
        if (!certType.EndsWith(Suffix, StringComparison.Ordinal))
        {
            throw new SshFormatException("this is not an OpenSSH certificate (its type does not end in " + Suffix + ")");
        }
        var nonce = reader.Bytes("the nonce", 64);
        if (nonce.Length < 16)
        {
            throw new SshFormatException("the nonce is shorter than 16 bytes");
        }
        var nonceCopy = nonce.ToArray();
        var key = SshPublicKey.ReadFieldsOf(certType[..^Suffix.Length], ref reader);
        var serial = reader.U64("the serial");
        var type = reader.U32("the certificate kind") switch
        {
            1 => SshCertificateType.User,
            2 => SshCertificateType.Host,
            _ => throw new SshFormatException("the certificate is neither a user nor a host certificate"),
        };
        var keyId = reader.Text("the key id", 1024);
        var principals = new List<string>();
        var principalReader = new SshReader(reader.Bytes("the principals", 16 * 1024));
        while (!principalReader.AtEnd)
        {
            if (principals.Count == MaxPrincipals)
            {
                throw new SshFormatException($"the certificate has more than {MaxPrincipals} principals");
            }
            principals.Add(principalReader.Text("a principal", 256));
        }
        var validAfter = reader.U64("valid_after");
        var validBefore = reader.U64("valid_before");
        var critical = ReadOptions(reader.Bytes("the critical options", 8 * 1024), "critical option");
        var extensions = ReadOptions(reader.Bytes("the extensions", 8 * 1024), "extension");
        reader.Bytes("the reserved field", 1024);
        var signatureKey = SshPublicKey.FromBlob(reader.Bytes("the signature key", SshPublicKey.MaxBlobBytes));
        var signedLength = blob.Length - reader.Remaining;
        var signature = reader.Bytes("the signature", 2048).ToArray();
        reader.EnsureEnd("the certificate");
        return new SshCertificate
        {
            Key = key,
            Nonce = nonceCopy,
            Serial = serial,
            Type = type,
            KeyId = keyId,
            Principals = principals,
            ValidAfter = validAfter,
            ValidBefore = validBefore,
            CriticalOptions = critical,
            Extensions = extensions,
            SignatureKey = signatureKey,
            Signature = signature,
            SignedLength = signedLength,
            _blob = blob.ToArray(),
        };
    }

    /// <summary>An <c>-cert.pub</c> line: <c>type base64 [comment]</c>.</summary>
    public static SshCertificate ParseLine(string line)
    {
        var (type, blob) = SshText.ParseLine(line, MaxBytes);
        var certificate = Parse(blob);
        if (certificate.CertificateType != type)
        {
            throw new SshFormatException($"the line says {type} but the certificate is {certificate.CertificateType}");
        }
        return certificate;
    }

    private static List<KeyValuePair<string, string?>> ReadOptions(ReadOnlySpan<byte> data, string what)
    {
        var options = new List<KeyValuePair<string, string?>>();
        var reader = new SshReader(data);
        string? previous = null;
        while (!reader.AtEnd)
        {
            if (options.Count == MaxOptions)
            {
                throw new SshFormatException($"the certificate has more than {MaxOptions} {what}s");
            }
            var name = reader.Text($"a {what} name", 128);
            if (previous is not null && string.CompareOrdinal(previous, name) >= 0)
            {
                throw new SshFormatException($"{what}s are not sorted and unique");
            }
            previous = name;
            var value = reader.Bytes($"the {what} {name}", 4096);
            string? text = null;
            if (!value.IsEmpty)
            {
                var inner = new SshReader(value);
                text = inner.Text($"the {what} {name}", 4096);
                inner.EnsureEnd($"the {what} {name}");
            }
            options.Add(KeyValuePair.Create(name, text));
        }
        return options;
    }

    /// <summary>Everything but the signature, in wire order: what the CA signs.</summary>
    internal static byte[] ToBeSigned(SshPublicKey key, ReadOnlySpan<byte> nonce, ulong serial, SshCertificateType type, string keyId,
        IReadOnlyList<string> principals, ulong validAfter, ulong validBefore, IReadOnlyList<KeyValuePair<string, string?>> critical,
        IReadOnlyList<KeyValuePair<string, string?>> extensions, SshPublicKey signatureKey)
    {
        var principalList = new SshWriter();
        foreach (var principal in principals)
        {
            principalList.Text(principal);
        }
        return new SshWriter()
            .Text(key.Type + Suffix)
            .Bytes(nonce)
            .Raw(key.Fields)
            .U64(serial)
            .U32((uint)type)
            .Text(keyId)
            .Bytes(principalList.Written)
            .U64(validAfter)
            .U64(validBefore)
            .Bytes(WriteOptions(critical))
            .Bytes(WriteOptions(extensions))
            .Bytes([])
            .Bytes(signatureKey.Blob)
            .ToArray();
    }

    /// <summary>
    /// The certificate an authority just signed, from the fields it signed. Not parsed back from its bytes: parsing
    /// checks both keys on their curves again (two OpenSSL key constructions per certificate), and these keys were
    /// checked when they were made. A test holds this to what <see cref="Parse"/> reads from the same bytes.
    /// </summary>
    internal static SshCertificate Signed(SshCertificateRequest request, byte[] nonce, ulong serial, ulong validAfter, ulong validBefore,
        IReadOnlyList<string> principals, SshPublicKey signatureKey, byte[] toBeSigned, byte[] signature) => new()
        {
            Key = request.Key,
            Nonce = nonce,
            Serial = serial,
            Type = request.Type,
            KeyId = request.KeyId,
            Principals = principals,
            ValidAfter = validAfter,
            ValidBefore = validBefore,
            CriticalOptions = [],
            Extensions = [.. request.Extensions.OrderBy(e => e.Key, StringComparer.Ordinal)],
            SignatureKey = signatureKey,
            Signature = signature,
            SignedLength = toBeSigned.Length,
            _blob = new SshWriter().Raw(toBeSigned).Bytes(signature).ToArray(),
        };

    private static byte[] WriteOptions(IReadOnlyList<KeyValuePair<string, string?>> options)
    {
        var writer = new SshWriter();
        // PROTOCOL.certkeys: names sorted (ordinal, which is byte order for ASCII) and unique.
        foreach (var option in options.OrderBy(o => o.Key, StringComparer.Ordinal))
        {
            writer.Text(option.Key);
            writer.Bytes(option.Value is null ? [] : new SshWriter().Text(option.Value).ToArray());
        }
        return writer.ToArray();
    }
}
