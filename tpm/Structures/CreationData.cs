using DeviceTrust.Tpm.Codec;

namespace DeviceTrust.Tpm.Structures;

/// <summary>
/// TPMS_CREATION_DATA (Part 2): what the TPM recorded when it created an object. Its hash is certified by
/// TPM2_CertifyCreation; parentName names the parent (the EK for an AK made under it).
/// </summary>
public sealed record CreationData(byte[] Raw, IReadOnlyList<PcrBank> PcrSelect, byte[] PcrDigest, byte Locality, ushort ParentNameAlg,
    byte[] ParentName, byte[] ParentQualifiedName, byte[] OutsideInfo)
{
    public static CreationData Parse(ReadOnlySpan<byte> data)
    {
        var reader = new TpmReader(data);
        var count = reader.U32("pcrSelect count");
        IReadOnlyList<PcrBank> select = [];
        if (count > 0)
        {
            // re-read with the count included
            reader = new TpmReader(data);
            select = PcrSelection.Read(ref reader);
        }
        var digest = reader.Sized("pcrDigest", 64).ToArray();
        var locality = reader.U8("locality");
        var parentNameAlg = reader.U16("parentNameAlg");
        var parentName = reader.Sized("parentName", 2 + 64).ToArray();
        var parentQualified = reader.Sized("parentQualifiedName", 2 + 64).ToArray();
        var outside = reader.Sized("outsideInfo", 64).ToArray();
        reader.End("TPMS_CREATION_DATA");
        return new CreationData(data.ToArray(), select, digest, locality, parentNameAlg, parentName, parentQualified, outside);
    }
}
