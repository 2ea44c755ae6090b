using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Secrets;

namespace DeviceTrust.Silo.Hosting;

/// <summary>
/// Finds the master key: configuration or <c>DEVICETRUST_MASTER_KEY</c> first, then a key file. Only the embedded
/// (SQLite) mode generates a key file by itself; a PostgreSQL cluster must be given its key, so that every silo
/// and gateway shares it. A previous key (<c>DEVICETRUST_PREVIOUS_MASTER_KEY</c>) is given while rotating.
/// </summary>
public static class MasterKeyLoader
{
    public static MasterKey Load(DeviceTrustHostOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.MasterKey))
        {
            return MasterKey.FromBase64(options.MasterKey, options.PreviousMasterKey);
        }
        var file = options.MasterKeyFile ?? Path.Combine(options.DataDirFullPath, "master.key");
        if (File.Exists(file))
        {
            if (SecureFile.IsReadableByOthers(file))
            {
                throw DeviceTrustException.FailedPrecondition($"the master key file {file} is readable by other users: chmod 600 it");
            }
            return MasterKey.FromBase64(File.ReadAllText(file), options.PreviousMasterKey);
        }
        if (options.MasterKeyFile is not null || !options.Storage.IsSqlite)
        {
            throw DeviceTrustException.FailedPrecondition(
                $"no master key: set DEVICETRUST_MASTER_KEY (base64 of 32 random bytes, e.g. from `openssl rand -base64 32`) or create {file}");
        }
        var key = MasterKey.Generate();
        SecureFile.WriteAllText(file, Convert.ToBase64String(key) + "\n");
        return new MasterKey(key);
    }
}
