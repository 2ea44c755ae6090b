using System.Security.Cryptography;
using DeviceTrust.Client.Connection;
using DeviceTrust.Client.Profiles;
using DeviceTrust.Testing;
using Grpc.Core;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// A master key rotation as docs/operations.md tells an operator to run it: every node gets the new key and the old one
/// as the previous; `dtctl cluster rewrap-secrets` moves the CA keys to the new one; the old key goes. The CAs, and so
/// every certificate and pin, stay the same throughout.
/// </summary>
public sealed class MasterKeyRotationTests
{
    private static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    [Fact]
    public async Task The_master_key_rotates_without_changing_the_CAs_and_the_old_key_alone_no_longer_opens_them()
    {
        using var directory = new TempDirectory("dt-rotate");
        var (oldKey, newKey) = (NewKey(), NewKey());
        await using var gateway = new GatewayProcess(directory["data"], new Dictionary<string, string?> { ["DEVICETRUST_MASTER_KEY"] = oldKey });
        await gateway.StartAsync();
        var pin = gateway.CaPin;
        var admin = new Cli(directory["admin"]);
        (await admin.DtshWithInput("admin password 1234\n", "login", "--proxy", gateway.Proxy, "--invite", gateway.AdminInvitation)).Succeeded();
        var added = (await admin.Dtctl("users", "add", "mallory", "--roles", "access")).Succeeded();
        var mallory = new Cli(directory["mallory"]);
        (await mallory.DtshWithInput("mallory password 1\n", "login", "--proxy", gateway.Proxy, "--invite",
            added.StdOut.Split(' ', '\n').Single(w => w.StartsWith("dtinv1.", StringComparison.Ordinal)).Trim())).Succeeded();

        // Step 1: the new key, with the old one as the previous. Everything still opens; the gateway says what is next.
        var said = await RestartAsync(gateway, newKey, oldKey);
        Assert.Equal(pin, gateway.CaPin);
        Assert.Contains("3 of the 3 CA keys are still encrypted under the previous master key", said());

        // Only someone who may update the cluster configuration may rewrap; a refusal changes nothing and is audited.
        (await mallory.Dtctl("cluster", "rewrap-secrets")).FailedWith(
            "access denied: user \"mallory\" may not update cluster_config (roles: access)");
        using var auditor = GatewayChannel.ForProfile(new ProfileStore(admin.Home).Load()!);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(auditor, "cluster.secrets_rewrap", e => e.User == "mallory"), StatusCode.PermissionDenied,
            "access denied: user \"mallory\" may not update cluster_config (roles: access)");

        // Step 2: rewrap. Every CA key moves (so the refusal changed none), and a second run finds nothing to do.
        var rewrapped = (await admin.Dtctl("cluster", "rewrap-secrets")).Succeeded();
        Assert.Equal(
            ["re-encrypted under the current master key: user CA key", "re-encrypted under the current master key: SSH user CA key",
             "re-encrypted under the current master key: SSH host CA key"],
            rewrapped.StdOut.Split('\n').Where(l => l.StartsWith("re-encrypted", StringComparison.Ordinal)));
        Assert.Equal(3, (await admin.Dtctl("cluster", "rewrap-secrets")).Succeeded().StdOut.Split('\n').Count(l => l.StartsWith("already under", StringComparison.Ordinal)));
        var audited = await AuditTrail.LastAsync(auditor, "cluster.secrets_rewrap", e => e is { User: "admin", Success: true }
            && e.Message.StartsWith("re-encrypted", StringComparison.Ordinal));
        Assert.Equal("re-encrypted under the current master key: user CA key, SSH user CA key, SSH host CA key", audited.Message);

        // Step 3: the new key alone. Same CA, logins work, nothing left to do.
        said = await RestartAsync(gateway, newKey, previous: null);
        Assert.Equal(pin, gateway.CaPin);
        Assert.DoesNotContain("previous master key", said());
        (await admin.Dtctl("users", "ls")).Succeeded();

        // The old key alone no longer opens the stored CA keys: the gateway refuses to start, and says why.
        var failed = await Assert.ThrowsAsync<InvalidOperationException>(() => RestartAsync(gateway, oldKey, previous: null));
        Assert.Contains("cannot decrypt a stored secret: the master key is not the one it was encrypted with "
                        + "(rotating it? give the old one as DEVICETRUST_PREVIOUS_MASTER_KEY)", failed.Message);
        Assert.NotNull(gateway.Exited);
    }

    /// <summary>Restarts with these keys; returns what the gateway has printed since.</summary>
    private static async Task<Func<string>> RestartAsync(GatewayProcess gateway, string key, string? previous)
    {
        await gateway.StopAsync();
        var mark = gateway.Output.Length;
        gateway.Set("DEVICETRUST_MASTER_KEY", key);
        gateway.Set("DEVICETRUST_PREVIOUS_MASTER_KEY", previous);
        await gateway.StartAsync();
        return () => gateway.Output[mark..];
    }
}
