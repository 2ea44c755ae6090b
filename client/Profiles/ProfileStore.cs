using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using DeviceTrust.Core.Secrets;

namespace DeviceTrust.Client.Profiles;

/// <summary>
/// The profile folder shared by dtsh and dtctl: <c>~/.dtsh/</c>, or <c>$DTSH_HOME</c>. The folder is 0700 and the
/// key 0600. Files: profile.json, ca.pem (the trusted cluster CA), key.pem, cert.pem.
/// </summary>
public sealed class ProfileStore(string directory)
{
    private const string ProfileFile = "profile.json";
    private const string CaFile = "ca.pem";
    private const string KeyFile = "key.pem";
    private const string CertificateFile = "cert.pem";

    public string Directory { get; } = directory;

    public static ProfileStore Default() =>
        new(Environment.GetEnvironmentVariable("DTSH_HOME") is { Length: > 0 } home
            ? home
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dtsh"));

    public bool Exists => File.Exists(Path.Combine(Directory, ProfileFile));

    public Profile? Load()
    {
        if (!Exists)
        {
            return null;
        }
        var meta = JsonSerializer.Deserialize<ProfileMeta>(File.ReadAllText(Path.Combine(Directory, ProfileFile)))
                   ?? throw new InvalidDataException($"{Path.Combine(Directory, ProfileFile)} is empty");
        var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(Path.Combine(Directory, KeyFile)));
        return new Profile
        {
            Proxy = meta.Proxy,
            User = meta.User,
            Cluster = meta.Cluster,
            Roles = meta.Roles,
            DeviceTrustMode = meta.DeviceTrustMode ?? "optional",
            Ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(Directory, CaFile)),
            Certificate = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(Directory, CertificateFile)),
            Key = key,
        };
    }

    /// <summary>The CA this machine already trusts for <paramref name="proxy"/>, from an earlier login.</summary>
    public X509Certificate2? TrustedCaFor(string proxy)
    {
        var path = Path.Combine(Directory, CaFile);
        if (!File.Exists(path) || !File.Exists(Path.Combine(Directory, ProfileFile)))
        {
            return null;
        }
        var meta = JsonSerializer.Deserialize<ProfileMeta>(File.ReadAllText(Path.Combine(Directory, ProfileFile)));
        return meta?.Proxy == proxy ? X509CertificateLoader.LoadCertificateFromFile(path) : null;
    }

    public void Save(Profile profile)
    {
        SecureFile.CreatePrivateDirectory(Directory);
        SecureFile.WriteAllText(Path.Combine(Directory, KeyFile), profile.Key.ExportPkcs8PrivateKeyPem());
        SecureFile.WriteAllText(Path.Combine(Directory, CertificateFile), profile.Certificate.ExportCertificatePem() + "\n");
        SecureFile.WriteAllText(Path.Combine(Directory, CaFile), profile.Ca.ExportCertificatePem() + "\n");
        var meta = new ProfileMeta(profile.Proxy, profile.User, profile.Cluster, profile.Roles.ToList(), profile.DeviceTrustMode);
        SecureFile.WriteAllText(Path.Combine(Directory, ProfileFile), JsonSerializer.Serialize(meta, Indented));
    }

    /// <summary>Removes the key, the certificate and the profile; true if there was one.</summary>
    public bool Delete()
    {
        var existed = Exists;
        foreach (var file in new[] { KeyFile, CertificateFile, ProfileFile, CaFile })
        {
            File.Delete(Path.Combine(Directory, file));
        }
        return existed;
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private sealed record ProfileMeta(string Proxy, string User, string Cluster, List<string> Roles, string? DeviceTrustMode);
}
