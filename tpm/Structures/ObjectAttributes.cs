namespace DeviceTrust.Tpm.Structures;

/// <summary>TPMA_OBJECT (Part 2, "TPMA_OBJECT").</summary>
[Flags]
public enum ObjectAttributes : uint
{
    None = 0,
    FixedTpm = 0x2,
    StClear = 0x4,
    FixedParent = 0x10,
    SensitiveDataOrigin = 0x20,
    UserWithAuth = 0x40,
    AdminWithPolicy = 0x80,
    NoDa = 0x400,
    EncryptedDuplication = 0x800,
    Restricted = 0x10000,
    Decrypt = 0x20000,
    Sign = 0x40000,
}
