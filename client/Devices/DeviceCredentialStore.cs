using System.Security.Cryptography;
using System.Text.Json;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Secrets;

namespace DeviceTrust.Client.Devices;

/// <summary>What this machine knows about its enrollment: the credential id and, once enrolled, the device.</summary>
public sealed record DeviceCredentialInfo(string CredentialId, string Kind, string DeviceId, string AssetTag, string OsType);

/// <summary>
/// The software key store for devices without a TPM: a P-256 key in <c>{profile}/device/key.pem</c> (0600). Keys in
/// files are weaker than keys in hardware: the credential is recorded as attestation type "unspecified", and a
/// software key is only created when the user asks for it (<c>--software-key</c>).
/// </summary>
public sealed class DeviceCredentialStore(string profileDirectory)
{
    public const string SoftwareKind = "software";
    public const string TpmKind = "tpm";

    /// <summary>Names the TPM like TPM2TOOLS_TCTI: <c>swtpm:host=127.0.0.1,port=2321</c>; unset means /dev/tpmrm0.</summary>
    public const string TpmVariable = "DTSH_TPM";

    public static string? TpmSpec => Environment.GetEnvironmentVariable(TpmVariable) is { Length: > 0 } spec ? spec : null;

    /// <summary>Whether this machine has a TPM to use: DTSH_TPM names one, or the kernel's resource manager exists.</summary>
    public static bool TpmAvailable => TpmSpec is not null || File.Exists(Tpm.Device.TpmTransports.DefaultDevice);
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public string Directory { get; } = Path.Combine(profileDirectory, "device");
    private string KeyFile => Path.Combine(Directory, "key.pem");
    private string InfoFile => Path.Combine(Directory, "credential.json");

    public bool HasKey => File.Exists(KeyFile) && File.Exists(InfoFile);

    public DeviceCredentialInfo? Info => File.Exists(InfoFile) ? JsonSerializer.Deserialize<DeviceCredentialInfo>(File.ReadAllText(InfoFile)) : null;

    /// <summary>The enrolled credential, or null when this machine has not enrolled.</summary>
    public DeviceCredentialInfo? Enrolled => Info is { DeviceId.Length: > 0 } info && (info.Kind == TpmKind || HasKey) ? info : null;

    public ECDsa LoadKey()
    {
        if (!HasKey)
        {
            throw DeviceTrustException.FailedPrecondition("this machine has no device key: enroll it first (dtsh device enroll)");
        }
        var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(KeyFile));
        return key;
    }

    /// <summary>The existing key, or a new one when <paramref name="create"/> is set.</summary>
    public (ECDsa Key, DeviceCredentialInfo Info) GetOrCreate(bool create)
    {
        if (HasKey)
        {
            return (LoadKey(), Info!);
        }
        if (!create)
        {
            throw DeviceTrustException.FailedPrecondition(
                "this machine has no TPM (no /dev/tpmrm0, DTSH_TPM unset) and no device key: pass --software-key to create a software key (weaker than a hardware key)");
        }
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var info = new DeviceCredentialInfo(Guid.NewGuid().ToString(), SoftwareKind, "", "", "");
        SecureFile.WriteAllText(KeyFile, key.ExportPkcs8PrivateKeyPem());
        Save(info);
        return (key, info);
    }

    public void Save(DeviceCredentialInfo info) => SecureFile.WriteAllText(InfoFile, JsonSerializer.Serialize(info, Indented));
}
