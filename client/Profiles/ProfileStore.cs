using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using DeviceTrust.Core.Secrets;

namespace DeviceTrust.Client.Profiles;

/// <summary>
/// The profile folder shared by dtsh and dtctl: <c>~/.dtsh/</c>, or <c>$DTSH_HOME</c>. The folder is 0700 and the
/// key 0600. Files: profile.json, ca.pem (the trusted cluster CA), key.pem, cert.pem, and for SSH key.pem.pub,
/// ssh-cert.pub (the OpenSSH certificate for key.pem) and known_hosts (the cluster's host CA as an
/// <c>@cert-authority</c> line).
/// </summary>
public sealed class ProfileStore(string directory)
{
    private const string ProfileFile = "profile.json";
    private const string CaFile = "ca.pem";
    private const string KeyFile = "key.pem";
    private const string CertificateFile = "cert.pem";
    private const string SshCertificateFile = "ssh-cert.pub";
    private const string SshPublicKeyFile = "key.pem.pub";
    private const string KnownHostsFile = "known_hosts";

    public string Directory { get; } = directory;

    public static ProfileStore Default() =>
        new(Environment.GetEnvironmentVariable("DTSH_HOME") is { Length: > 0 } home
            ? home
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dtsh"));

    public bool Exists => File.Exists(Path.Combine(Directory, ProfileFile));

    public string KeyPath => Path.Combine(Directory, KeyFile);

    public string SshCertificatePath => Path.Combine(Directory, SshCertificateFile);

    public string KnownHostsPath => Path.Combine(Directory, KnownHostsFile);

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
        var ssh = File.Exists(SshCertificatePath) ? Core.Ssh.SshCertificate.ParseLine(File.ReadAllText(SshCertificatePath)) : null;
        var cas = LoadCas(Path.Combine(Directory, CaFile));
        return new Profile
        {
            SshCertificate = ssh,
            SshHostCa = meta.SshHostCa ?? "",
            OtherSshHostCas = meta.OtherSshHostCas ?? [],
            Proxy = meta.Proxy,
            User = meta.User,
            Cluster = meta.Cluster,
            Roles = meta.Roles,
            DeviceTrustMode = meta.DeviceTrustMode ?? "optional",
            Ca = cas[0],
            OtherCas = cas.Skip(1).ToList(),
            Certificate = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(Directory, CertificateFile)),
            Key = key,
        };
    }

    /// <summary>The CAs this machine already trusts for <paramref name="proxy"/>, from an earlier login (two during a rotation).</summary>
    public IReadOnlyList<X509Certificate2>? TrustedCasFor(string proxy)
    {
        var path = Path.Combine(Directory, CaFile);
        if (!File.Exists(path) || !File.Exists(Path.Combine(Directory, ProfileFile)))
        {
            return null;
        }
        var meta = JsonSerializer.Deserialize<ProfileMeta>(File.ReadAllText(Path.Combine(Directory, ProfileFile)));
        return meta?.Proxy == proxy ? LoadCas(path) : null;
    }

    /// <summary>ca.pem: one certificate, or during a rotation the signing CA first and the other after it.</summary>
    private static List<X509Certificate2> LoadCas(string path)
    {
        var collection = new X509Certificate2Collection();
        collection.ImportFromPemFile(path);
        if (collection.Count is 0 or > 4)
        {
            throw new InvalidDataException($"{path} must hold one to four CA certificates (PEM), not {collection.Count}");
        }
        return collection.ToList();
    }

    public void Save(Profile profile)
    {
        SecureFile.CreatePrivateDirectory(Directory);
        SecureFile.WriteAllText(Path.Combine(Directory, KeyFile), profile.Key.ExportPkcs8PrivateKeyPem());
        SecureFile.WriteAllText(Path.Combine(Directory, CertificateFile), profile.Certificate.ExportCertificatePem() + "\n");
        SecureFile.WriteAllText(Path.Combine(Directory, CaFile), string.Concat(profile.TrustedCas.Select(ca => ca.ExportCertificatePem() + "\n")));
        // ssh pairs a CertificateFile with its key by public key, and reads the public half of -i FILE from FILE.pub
        // (not from a PEM private key): without it, it tries the certificate file as a private key and fails.
        SecureFile.WriteAllText(Path.Combine(Directory, SshPublicKeyFile), Core.Ssh.SshPublicKey.FromEcdsa(profile.Key).ToLine(profile.User) + "\n");
        if (profile.SshCertificate is { } ssh)
        {
            SecureFile.WriteAllText(SshCertificatePath, ssh.ToLine($"{profile.User}@{profile.Cluster}") + "\n");
        }
        else
        {
            File.Delete(SshCertificatePath);
        }
        if (profile.SshHostCa.Length > 0)
        {
            // Any host name: dtsh ssh names the node with HostKeyAlias, and the host certificate must list that name.
            SecureFile.WriteAllText(KnownHostsPath, string.Concat(new[] { profile.SshHostCa }.Concat(profile.OtherSshHostCas).Select(ca => $"@cert-authority * {ca}\n")));
        }
        var meta = new ProfileMeta(profile.Proxy, profile.User, profile.Cluster, profile.Roles.ToList(), profile.DeviceTrustMode, profile.SshHostCa,
            profile.OtherSshHostCas.ToList());
        SecureFile.WriteAllText(Path.Combine(Directory, ProfileFile), JsonSerializer.Serialize(meta, Indented));
    }

    /// <summary>Removes the key, the certificate and the profile; true if there was one.</summary>
    public bool Delete()
    {
        var existed = Exists;
        foreach (var file in new[] { KeyFile, CertificateFile, ProfileFile, CaFile, SshCertificateFile, SshPublicKeyFile, KnownHostsFile })
        {
            File.Delete(Path.Combine(Directory, file));
        }
        return existed;
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private sealed record ProfileMeta(string Proxy, string User, string Cluster, List<string> Roles, string? DeviceTrustMode, string? SshHostCa,
        List<string>? OtherSshHostCas = null);
}
