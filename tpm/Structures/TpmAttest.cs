using DeviceTrust.Tpm.Codec;

namespace DeviceTrust.Tpm.Structures;

/// <summary>
/// A parsed TPMS_ATTEST (Part 2, "Attestation Structures"): the exact bytes a TPM signed, for quotes, creation
/// certification and object certification. Other types are refused.
/// </summary>
public sealed record TpmAttest
{
    public const uint Magic = 0xFF544347; // TPM_GENERATED_VALUE
    public const ushort TypeCertify = 0x8017;
    public const ushort TypeQuote = 0x8018;
    public const ushort TypeCreation = 0x801A;

    public required byte[] Raw { get; init; }
    public required ushort Type { get; init; }
    public required byte[] QualifiedSigner { get; init; }
    public required byte[] ExtraData { get; init; }
    public required ulong Clock { get; init; }
    public required uint ResetCount { get; init; }
    public required uint RestartCount { get; init; }
    public required bool Safe { get; init; }
    public required ulong FirmwareVersion { get; init; }

    // QUOTE
    public IReadOnlyList<PcrBank> PcrSelect { get; init; } = [];
    public byte[] PcrDigest { get; init; } = [];

    // CREATION
    public byte[] ObjectName { get; init; } = [];
    public byte[] CreationHash { get; init; } = [];

    // CERTIFY
    public byte[] CertifiedName { get; init; } = [];
    public byte[] CertifiedQualifiedName { get; init; } = [];

    public static TpmAttest Parse(ReadOnlySpan<byte> data)
    {
        var reader = new TpmReader(data);
        var magic = reader.U32("magic");
        if (magic != Magic)
        {
            throw new TpmFormatException($"magic 0x{magic:x8} is not TPM_GENERATED_VALUE: the TPM did not produce this");
        }
        var type = reader.U16("type");
        var signer = reader.Sized("qualifiedSigner", 2 + 64).ToArray();
        var extra = reader.Sized("extraData", 64).ToArray();
        var clock = reader.U64("clock");
        var reset = reader.U32("resetCount");
        var restart = reader.U32("restartCount");
        var safe = reader.U8("safe");
        if (safe > 1)
        {
            throw new TpmFormatException($"safe: {safe} is not a boolean");
        }
        var firmware = reader.U64("firmwareVersion");
        var raw = data.ToArray();
        TpmAttest Make() => new()
        {
            Raw = raw,
            Type = type,
            QualifiedSigner = signer,
            ExtraData = extra,
            Clock = clock,
            ResetCount = reset,
            RestartCount = restart,
            Safe = safe == 1,
            FirmwareVersion = firmware,
        };
        switch (type)
        {
            case TypeQuote:
                {
                    var select = PcrSelection.Read(ref reader);
                    var digest = reader.Sized("pcrDigest", 64).ToArray();
                    reader.End("TPMS_ATTEST");
                    return Make() with { PcrSelect = select, PcrDigest = digest };
                }
            case TypeCreation:
                {
                    var name = reader.Sized("objectName", 2 + 64).ToArray();
                    var hash = reader.Sized("creationHash", 64).ToArray();
                    reader.End("TPMS_ATTEST");
                    return Make() with { ObjectName = name, CreationHash = hash };
                }
            case TypeCertify:
                {
                    var name = reader.Sized("name", 2 + 64).ToArray();
                    var qualified = reader.Sized("qualifiedName", 2 + 64).ToArray();
                    reader.End("TPMS_ATTEST");
                    return Make() with { CertifiedName = name, CertifiedQualifiedName = qualified };
                }
            default:
                throw new TpmFormatException($"type 0x{type:x4}: only quote, creation and certify attestations are accepted");
        }
    }
}
