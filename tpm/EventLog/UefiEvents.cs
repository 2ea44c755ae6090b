using System.Buffers.Binary;
using System.Text;
using DeviceTrust.Tpm.Codec;

namespace DeviceTrust.Tpm.EventLog;

/// <summary>A UEFI variable as firmware measures it (UEFI_VARIABLE_DATA: GUID, name, data).</summary>
public sealed record UefiVariable(Guid Vendor, string Name, byte[] Data);

/// <summary>
/// The UEFI event types and structures the PC Client Platform Firmware Profile defines, read strictly and bounded:
/// variables (Secure Boot state, db, dbx) and signature lists (EFI_SIGNATURE_LIST).
/// </summary>
public static class UefiEvents
{
    public const uint EvSeparator = 0x00000004;
    public const uint EvEfiVariableDriverConfig = 0x80000001;
    public const uint EvEfiBootServicesApplication = 0x80000003;

    /// <summary>EFI_GLOBAL_VARIABLE: SecureBoot, PK, KEK.</summary>
    public static readonly Guid GlobalVariable = new("8be4df61-93ca-11d2-aa0d-00e098032b8c");

    /// <summary>EFI_IMAGE_SECURITY_DATABASE_GUID: db, dbx.</summary>
    public static readonly Guid ImageSecurityDatabase = new("d719b2cb-3d3a-4596-a3bc-dad00e67656f");

    /// <summary>EFI_CERT_SHA256_GUID: a signature list of SHA-256 image hashes.</summary>
    public static readonly Guid CertSha256 = new("c1c41626-504c-4092-aca9-41f936934328");

    private const int MaxNameChars = 256;

    /// <summary>Reads UEFI_VARIABLE_DATA; throws <see cref="TpmFormatException"/> when the sizes do not add up exactly.</summary>
    public static UefiVariable Variable(ReadOnlySpan<byte> data)
    {
        if (data.Length < 32)
        {
            throw new TpmFormatException("UEFI variable event: shorter than its header");
        }
        var nameChars = BinaryPrimitives.ReadUInt64LittleEndian(data[16..]);
        var dataLength = BinaryPrimitives.ReadUInt64LittleEndian(data[24..]);
        if (nameChars > MaxNameChars || dataLength > (ulong)data.Length || 32 + nameChars * 2 + dataLength != (ulong)data.Length)
        {
            throw new TpmFormatException("UEFI variable event: its name and data lengths do not match its size");
        }
        var name = Encoding.Unicode.GetString(data.Slice(32, (int)nameChars * 2));
        return new UefiVariable(new Guid(data[..16]), name, data[(32 + (int)nameChars * 2)..].ToArray());
    }

    /// <summary>
    /// The SHA-256 hashes in a signature database (a sequence of EFI_SIGNATURE_LIST), as lowercase hex; lists of other
    /// types (X.509 certificates, other hashes) are skipped. Throws when a list's sizes do not add up.
    /// </summary>
    public static IReadOnlySet<string> Sha256Hashes(ReadOnlySpan<byte> database)
    {
        var hashes = new HashSet<string>(StringComparer.Ordinal);
        while (!database.IsEmpty)
        {
            if (database.Length < 28)
            {
                throw new TpmFormatException("signature list: shorter than its header");
            }
            var type = new Guid(database[..16]);
            var listSize = BinaryPrimitives.ReadUInt32LittleEndian(database[16..]);
            var headerSize = BinaryPrimitives.ReadUInt32LittleEndian(database[20..]);
            var signatureSize = BinaryPrimitives.ReadUInt32LittleEndian(database[24..]);
            if (listSize > database.Length || listSize < 28 || headerSize > listSize - 28 || signatureSize < 16
                || (listSize - 28 - headerSize) % signatureSize != 0)
            {
                throw new TpmFormatException("signature list: its sizes do not add up");
            }
            if (type == CertSha256)
            {
                if (signatureSize != 16 + 32)
                {
                    throw new TpmFormatException("signature list: a SHA-256 entry is not 48 bytes");
                }
                for (var at = 28 + (int)headerSize; at < listSize; at += (int)signatureSize)
                {
                    hashes.Add(Convert.ToHexStringLower(database.Slice(at + 16, 32)));
                }
            }
            database = database[(int)listSize..];
        }
        return hashes;
    }

    /// <summary>A short name for an event type, for reasons people read.</summary>
    public static string TypeName(uint type) => type switch
    {
        EvEfiVariableDriverConfig => "EV_EFI_VARIABLE_DRIVER_CONFIG",
        EvEfiBootServicesApplication => "EV_EFI_BOOT_SERVICES_APPLICATION",
        EvSeparator => "EV_SEPARATOR",
        TcgEventLog.EvNoAction => "EV_NO_ACTION",
        _ => $"0x{type:x8}",
    };

    /// <summary>Whether an event's digest in <paramref name="bank"/> is the hash of its data (what the profile requires for variables).</summary>
    public static bool DigestIsOfData(TcgEvent e, ushort bank) =>
        e.Digests.TryGetValue(bank, out var digest) && digest.AsSpan().SequenceEqual(TpmAlg.Hash(bank, e.Data));
}
