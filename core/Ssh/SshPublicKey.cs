using System.Security.Cryptography;

namespace DeviceTrust.Core.Ssh;

/// <summary>
/// An OpenSSH public key: its type and its whole wire blob (the type string first). Only the kinds OpenSSH 9 offers
/// by default are accepted, each checked for shape: Ed25519 (32 bytes), ECDSA on P-256/384/521 (a point on the
/// curve) and RSA of 2048 to 8192 bits. Host keys arrive from nodes and user keys from certificates, so every
/// field is bounded.
/// </summary>
public sealed class SshPublicKey : IEquatable<SshPublicKey>
{
    public const string Ed25519 = "ssh-ed25519";
    public const string EcdsaP256 = "ecdsa-sha2-nistp256";
    public const string EcdsaP384 = "ecdsa-sha2-nistp384";
    public const string EcdsaP521 = "ecdsa-sha2-nistp521";
    public const string Rsa = "ssh-rsa";

    /// <summary>An RSA-8192 blob is about 1,050 bytes; nothing we accept is larger.</summary>
    public const int MaxBlobBytes = 1280;

    private readonly byte[] _blob;

    private SshPublicKey(string type, byte[] blob, int fieldsOffset)
    {
        Type = type;
        _blob = blob;
        FieldsOffset = fieldsOffset;
    }

    public string Type { get; }

    /// <summary>The whole public key blob, as in field 2 of an <c>.pub</c> line once base64-decoded.</summary>
    public ReadOnlySpan<byte> Blob => _blob;

    private int FieldsOffset { get; }

    /// <summary>The key's fields after its type string: what a certificate for this key carries, byte for byte.</summary>
    public ReadOnlySpan<byte> Fields => _blob.AsSpan(FieldsOffset);

    /// <summary><c>SHA256:</c> and the unpadded base64 of the blob's SHA-256, as <c>ssh-keygen -l</c> and sshd's <c>%f</c> print it.</summary>
    public string Fingerprint => SshText.Fingerprint(_blob);

    public string ToLine(string comment = "") => SshText.Line(Type, _blob, comment);

    public static SshPublicKey FromEcdsa(ECDsa key)
    {
        var parameters = key.ExportParameters(false);
        var (type, curve) = CurveOf(parameters.Curve);
        var point = new byte[1 + parameters.Q.X!.Length + parameters.Q.Y!.Length];
        point[0] = 4;
        parameters.Q.X.CopyTo(point, 1);
        parameters.Q.Y.CopyTo(point, 1 + parameters.Q.X.Length);
        return FromBlob(new SshWriter().Text(type).Text(curve).Bytes(point).ToArray());
    }

    /// <summary>
    /// The OpenSSH form of the P-256 key in a certificate this cluster's CA issued. Its point was checked on the curve
    /// when the key was accepted (<c>CertificateAuthority.ParseUserPublicKey</c>), so only its shape is checked here:
    /// importing it into OpenSSL again, to export it and check it, cost two key constructions per device
    /// authentication.
    /// </summary>
    public static SshPublicKey FromIssuedP256(System.Security.Cryptography.X509Certificates.PublicKey key)
    {
        var point = key.EncodedKeyValue.RawData;
        if (key.Oid.Value != "1.2.840.10045.2.1" || key.EncodedParameters?.RawData is not { } parameters || !parameters.AsSpan().SequenceEqual(P256Parameters)
            || point.Length != 65 || point[0] != 4)
        {
            throw new SshFormatException("the certificate's key is not an uncompressed EC P-256 point");
        }
        var blob = new SshWriter().Text(EcdsaP256).Text("nistp256").Bytes(point).ToArray();
        return new SshPublicKey(EcdsaP256, blob, 4 + EcdsaP256.Length);
    }

    /// <summary>The DER of the P-256 curve's OID, as a SubjectPublicKeyInfo names it.</summary>
    private static ReadOnlySpan<byte> P256Parameters => [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];

    /// <summary>Parses and checks a public key blob; throws <see cref="SshFormatException"/> when it is not one we accept.</summary>
    public static SshPublicKey FromBlob(ReadOnlySpan<byte> blob)
    {
        if (blob.Length > MaxBlobBytes)
        {
            throw new SshFormatException($"the public key is longer than {MaxBlobBytes} bytes");
        }
        var reader = new SshReader(blob);
        var type = reader.Text("the key type", 64);
        var fieldsOffset = blob.Length - reader.Remaining;
        ReadFields(type, ref reader);
        reader.EnsureEnd("the public key");
        return new SshPublicKey(type, blob.ToArray(), fieldsOffset);
    }

    /// <summary>
    /// Reads the fields of a key of <paramref name="type"/> (as inside a certificate, after its nonce) and checks them;
    /// returns their bytes.
    /// </summary>
    internal static SshPublicKey ReadFieldsOf(string type, ref SshReader reader)
    {
        var start = reader.Rest;
        ReadFields(type, ref reader);
        var fields = start[..(start.Length - reader.Remaining)];
        var blob = new SshWriter().Text(type).Raw(fields).ToArray();
        return FromBlob(blob);
    }

    /// <summary>An OpenSSH public key line: <c>type base64 [comment]</c>.</summary>
    public static SshPublicKey ParseLine(string line)
    {
        var (type, blob) = SshText.ParseLine(line, MaxBlobBytes);
        var key = FromBlob(blob);
        if (key.Type != type)
        {
            throw new SshFormatException($"the line says {type} but the key is {key.Type}");
        }
        return key;
    }

    private static void ReadFields(string type, ref SshReader reader)
    {
        switch (type)
        {
            case Ed25519:
                if (reader.Bytes("the Ed25519 key", 32).Length != 32)
                {
                    throw new SshFormatException("an Ed25519 key is 32 bytes");
                }
                break;
            case EcdsaP256 or EcdsaP384 or EcdsaP521:
                var curve = reader.Text("the curve name", 16);
                if ("ecdsa-sha2-" + curve != type)
                {
                    throw new SshFormatException($"the curve {curve} does not match the key type {type}");
                }
                CheckPoint(type, reader.Bytes("the ECDSA point", 1 + 2 * 66));
                break;
            case Rsa:
                var exponent = reader.Mpint("the RSA exponent", 8);
                var modulus = reader.Mpint("the RSA modulus", 1024);
                var bits = modulus.Length * 8 - System.Numerics.BitOperations.LeadingZeroCount((uint)modulus[0]) + 24;
                if (bits is < 2048 or > 8192)
                {
                    throw new SshFormatException("an RSA key must have 2048 to 8192 bits");
                }
                if (exponent.IsEmpty || (exponent[^1] & 1) == 0 || (exponent.Length == 1 && exponent[0] < 3))
                {
                    throw new SshFormatException("the RSA exponent is not an odd number of at least 3");
                }
                break;
            default:
                throw new SshFormatException($"key type {type} is not supported: use Ed25519, ECDSA or RSA");
        }
    }

    private static void CheckPoint(string type, ReadOnlySpan<byte> point)
    {
        var (curve, size) = type switch
        {
            EcdsaP256 => (ECCurve.NamedCurves.nistP256, 32),
            EcdsaP384 => (ECCurve.NamedCurves.nistP384, 48),
            _ => (ECCurve.NamedCurves.nistP521, 66),
        };
        if (point.Length != 1 + 2 * size || point[0] != 4)
        {
            throw new SshFormatException($"the ECDSA point is not an uncompressed point of {type}");
        }
        try
        {
            using var key = ECDsa.Create(new ECParameters
            {
                Curve = curve,
                Q = new ECPoint { X = point.Slice(1, size).ToArray(), Y = point.Slice(1 + size, size).ToArray() },
            });
        }
        catch (CryptographicException)
        {
            throw new SshFormatException($"the ECDSA point is not on the curve of {type}");
        }
    }

    private static (string Type, string Curve) CurveOf(ECCurve curve) => curve.Oid?.Value switch
    {
        "1.2.840.10045.3.1.7" => (EcdsaP256, "nistp256"),
        "1.3.132.0.34" => (EcdsaP384, "nistp384"),
        "1.3.132.0.35" => (EcdsaP521, "nistp521"),
        _ => throw new SshFormatException("only NIST P-256, P-384 and P-521 ECDSA keys have an OpenSSH form"),
    };

    public bool Equals(SshPublicKey? other) => other is not null && _blob.AsSpan().SequenceEqual(other._blob);

    public override bool Equals(object? obj) => Equals(obj as SshPublicKey);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(_blob);
        return hash.ToHashCode();
    }

    public override string ToString() => $"{Type} {Fingerprint}";
}
