using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Testing;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// TPM devices end to end: the real gateway, the real dtsh/dtctl, and a freshly manufactured software TPM named by
/// DTSH_TPM. A gateway of their own, since these tests change the cluster's attestation policy.
/// </summary>
/// <summary>A gateway of its own (the TPM tests change the attestation policy), a fresh software TPM, and an admin.</summary>
public sealed class TpmCluster() : GatewayCluster("dt-e2e-tpm", GatewayProcess.HighLimits)
{
    public SoftwareTpm Tpm { get; private set; } = null!;

    protected override async Task BeforeStartAsync() => Tpm = await SoftwareTpm.StartAsync();

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Tpm.DisposeAsync();
    }
}

public sealed class TpmDeviceTests(TpmCluster cluster) : IClassFixture<TpmCluster>
{
    private GatewayProcess Gateway => cluster.Gateway;
    private SoftwareTpm SoftTpm => cluster.Tpm;
    private Cli Admin => cluster.Admin;

    private static string NewSerial() => "T" + Guid.NewGuid().ToString("N")[..11].ToUpperInvariant();

    /// <summary>A user at the TPM machine, reporting <paramref name="serial"/> as its serial number.</summary>
    private async Task<Cli> AtTpmDeviceAsync(string serial, bool withTpm = true)
    {
        var added = (await Admin.Dtctl("users", "add", "u" + serial.ToLowerInvariant(), "--roles", "access")).Succeeded().StdOut;
        var invite = added.Split(' ', '\n').Single(w => w.StartsWith("dtinv1.", StringComparison.Ordinal)).Trim();
        var data = cluster.Path($"{serial}.json");
        await File.WriteAllTextAsync(data, $$"""{ "serialNumber": "{{serial}}", "osVersion": "12" }""");
        var cli = new Cli(cluster.Path("home-" + serial)).With("DTSH_DEVICE_DATA", data).With("DTSH_TPM", withTpm ? SoftTpm.Tcti : null);
        (await cli.DtshWithInput("password for " + serial + "\n", "login", "--proxy", Gateway.Proxy, "--invite", invite)).Succeeded();
        return cli;
    }

    private async Task<string> TokenForAsync(string serial)
    {
        var added = (await Admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", serial, "--enroll")).Succeeded().StdOut;
        return added.Split('\n').Single(l => l.StartsWith("dtsh device enroll --token=", StringComparison.Ordinal))["dtsh device enroll --token=".Length..].Trim();
    }

    [Fact]
    public async Task A_tpm_device_enrolls_logs_in_and_the_ek_ca_policy_is_enforced()
    {
        // enroll with the TPM: EK certificate, AK, credential activation, quote
        var serial = NewSerial();
        var device = await AtTpmDeviceAsync(serial);
        Assert.Contains($"Device \"{serial}\"/linux enrolled", (await device.Dtsh("device", "enroll", "--token=" + await TokenForAsync(serial))).Succeeded().StdOut);
        var shown = (await Admin.Dtctl("devices", "get", "--asset-tag", serial)).Succeeded().StdOut;
        Assert.Matches(@"Credential: +[0-9a-f]{64} \(tpm_ekcert\)", shown);
        Assert.Contains("Proves:        EK certificate not verified: no EK CAs were configured at enrollment, so its issuer and serial are the device's claim", shown);
        Assert.Contains("Type:          tpm", (await device.Dtsh("device", "keyget")).Succeeded().StdOut);

        // log in: the device authenticates with a quote over a fresh nonce
        var login = (await device.DtshWithInput("password for " + serial + "\n", "login", "--user", "u" + serial.ToLowerInvariant())).Succeeded();
        Assert.DoesNotContain("WARNING", login.StdErr);
        Assert.Contains($"device-asset-tag={serial}", login.StdOut);

        // the swtpm manufacturer CA (root and intermediate) makes the EK certificate trusted
        (await Admin.Dtctl("config", "set", "ekcert-allowed-cas", Path.Combine(SoftTpm.Directory, "ca", "swtpm-localca-rootca-cert.pem"),
            Path.Combine(SoftTpm.Directory, "ca", "issuercert.pem"))).Succeeded();
        Assert.Contains("ekcert_allowed_cas: 2 certificate(s)", (await Admin.Dtctl("config", "get")).Succeeded().StdOut);
        var trusted = NewSerial();
        var second = await AtTpmDeviceAsync(trusted);
        (await second.Dtsh("device", "enroll", "--token=" + await TokenForAsync(trusted))).Succeeded();
        var trustedShown = (await Admin.Dtctl("devices", "get", "--asset-tag", trusted)).Succeeded().StdOut;
        Assert.Contains("(tpm_ekcert_trusted)", trustedShown);
        Assert.Matches(@"Proves:        EK certificate chains to CN=swtpm-localca-rootca[^\n]* \(allowed\): the TPM's maker vouches for this TPM", trustedShown);

        // another manufacturer's CA: the swtpm's EK certificate no longer qualifies
        var foreign = cluster.Path("foreign-ca.pem");
        using (var key = RSA.Create(2048))
        {
            using var ca = new CertificateRequest("CN=Other TPM Vendor", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
                .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
            await File.WriteAllTextAsync(foreign, ca.ExportCertificatePem());
        }
        (await Admin.Dtctl("config", "set", "ekcert-allowed-cas", foreign)).Succeeded();
        var refused = NewSerial();
        var third = await AtTpmDeviceAsync(refused);
        (await third.Dtsh("device", "enroll", "--token=" + await TokenForAsync(refused))).FailedWith("EK certificate does not chain to an allowed CA");
        var audit = (await Admin.Dtctl("audit", "ls", "--type", "device.enroll")).Succeeded().StdOut;
        Assert.Matches($@"failure\s+u{refused.ToLowerInvariant()}\s+{refused}.*EK certificate does not chain to an allowed CA", audit);
        (await Admin.Dtctl("config", "set", "ekcert-allowed-cas", "none")).Succeeded();
    }

    [Fact]
    public async Task A_minimum_attestation_is_met_only_by_proven_tpms_and_an_ek_pinned_in_the_inventory_proves_one()
    {
        // the EK as an operator reads it on the machine (or an MDM reports it), and its hash as sha256sum prints it
        var der = cluster.Path("ek.der");
        var pem = cluster.Path("ek.pem");
        await SoftTpm.ToolAsync("tpm2_readpublic", "-c", "0x81010001", "-f", "der", "-o", der);
        await SoftTpm.ToolAsync("tpm2_readpublic", "-c", "0x81010001", "-f", "pem", "-o", pem);
        var hash = "sha256:" + (await ProcessRunner.RunAsync("sha256sum", [der])).StdOut.Split(' ')[0];

        // enrolled with no EK CA and no pin: its EK certificate is its own claim
        var claimedSerial = NewSerial();
        var claimed = await AtTpmDeviceAsync(claimedSerial);
        (await claimed.Dtsh("device", "enroll", "--token=" + await TokenForAsync(claimedSerial))).Succeeded();
        Assert.Contains("(tpm_ekcert)", (await Admin.Dtctl("devices", "get", "--asset-tag", claimedSerial)).Succeeded().StdOut);

        // a minimum that software can meet is not a rule: refused, nothing changes
        (await Admin.Dtctl("config", "set", "min-attestation", "tpm_ekcert"))
            .FailedWith("min-attestation tpm_ekcert is what a device claims, not what it proves (software can offer an EK and a self-made EK certificate): use tpm_ekpub_pinned");
        Assert.Contains("min_attestation: unspecified", (await Admin.Dtctl("config", "get")).Succeeded().StdOut);
        var set = (await Admin.Dtctl("config", "set", "min-attestation", "tpm_ekpub_pinned")).Succeeded();
        Assert.Contains("WARNING: min_attestation tpm_ekpub_pinned is met only by devices whose EK is pinned in the inventory", set.StdErr);
        try
        {
            const string SelfAsserted = "the device's attestation tpm_ekcert is self-asserted and does not meet the cluster's minimum tpm_ekpub_pinned";
            // the claimed device no longer authenticates, a key device cannot enroll, an unpinned TPM cannot enroll
            var login = (await claimed.DtshWithInput("password for " + claimedSerial + "\n", "login", "--user", "u" + claimedSerial.ToLowerInvariant())).Succeeded();
            Assert.Contains("WARNING: device authentication failed: " + SelfAsserted, login.StdErr);
            var keySerial = NewSerial();
            var keyDevice = await AtTpmDeviceAsync(keySerial, withTpm: false);
            (await keyDevice.Dtsh("device", "enroll", "--token=" + await TokenForAsync(keySerial), "--software-key"))
                .FailedWith("the device's attestation unspecified is weaker than the cluster's minimum tpm_ekpub_pinned");
            var unpinnedSerial = NewSerial();
            (await (await AtTpmDeviceAsync(unpinnedSerial)).Dtsh("device", "enroll", "--token=" + await TokenForAsync(unpinnedSerial))).FailedWith(SelfAsserted);
            Assert.Matches($@"failure\s+u{unpinnedSerial.ToLowerInvariant()}\s+{unpinnedSerial}.*is self-asserted",
                (await Admin.Dtctl("audit", "ls", "--type", "device.enroll")).Succeeded().StdOut);
            Assert.Contains("Enroll Status: not enrolled", (await Admin.Dtctl("devices", "get", "--asset-tag", unpinnedSerial)).Succeeded().StdOut);

            // pinned at inventory time by hash: proven
            var pinnedSerial = NewSerial();
            var pinned = await AtTpmDeviceAsync(pinnedSerial);
            var added = (await Admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", pinnedSerial, "--ek-hash", hash, "--enroll")).Succeeded().StdOut;
            Assert.Contains($"Device {pinnedSerial}/linux added to the inventory, EK pinned ({hash})", added);
            var token = added.Split('\n').Single(l => l.StartsWith("dtsh device enroll --token=", StringComparison.Ordinal))["dtsh device enroll --token=".Length..].Trim();
            (await pinned.Dtsh("device", "enroll", "--token=" + token)).Succeeded();
            var shown = (await Admin.Dtctl("devices", "get", "--asset-tag", pinnedSerial)).Succeeded().StdOut;
            Assert.Contains("(tpm_ekpub_pinned)", shown);
            Assert.Contains("Proves:        EK is the one pinned in the inventory: the TPM the inventory recorded for this device", shown);
            Assert.Contains($"EK:            {hash}", shown);
            Assert.Contains($"EK pinned:     {hash}", shown);
            Assert.DoesNotContain("WARNING", (await pinned.DtshWithInput("password for " + pinnedSerial + "\n", "login", "--user", "u" + pinnedSerial.ToLowerInvariant())).Succeeded().StdErr);

            // pinned to another TPM's EK: refused and audited, whatever certificate the device brings
            var otherSerial = NewSerial();
            var other = await AtTpmDeviceAsync(otherSerial);
            var otherEk = "sha256:" + new string('e', 64);
            var otherToken = (await Admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", otherSerial, "--ek-hash", otherEk, "--enroll")).Succeeded().StdOut
                .Split('\n').Single(l => l.StartsWith("dtsh device enroll --token=", StringComparison.Ordinal))["dtsh device enroll --token=".Length..].Trim();
            var mismatch = $"the device's EK ({hash}) is not the one pinned in the inventory ({otherEk})";
            (await other.Dtsh("device", "enroll", "--token=" + otherToken)).FailedWith(mismatch);
            Assert.Matches($@"failure\s+u{otherSerial.ToLowerInvariant()}\s+{otherSerial}.*{System.Text.RegularExpressions.Regex.Escape(mismatch)}",
                (await Admin.Dtctl("audit", "ls", "--type", "device.enroll")).Succeeded().StdOut);
            Assert.Contains("Enroll Status: not enrolled", (await Admin.Dtctl("devices", "get", "--asset-tag", otherSerial)).Succeeded().StdOut);

            // pinning the EK an enrolled device proved it holds makes it proven; another EK is refused, nothing changes
            Assert.Contains("EK pinned sha256:", (await Admin.Dtctl("devices", "update", "--asset-tag", claimedSerial, "--ek-pub", pem)).Succeeded().StdOut);
            Assert.Contains("(tpm_ekpub_pinned)", (await Admin.Dtctl("devices", "get", "--asset-tag", claimedSerial)).Succeeded().StdOut);
            Assert.DoesNotContain("WARNING", (await claimed.DtshWithInput("password for " + claimedSerial + "\n", "login", "--user", "u" + claimedSerial.ToLowerInvariant())).Succeeded().StdErr);
            (await Admin.Dtctl("devices", "update", "--asset-tag", claimedSerial, "--ek-hash", otherEk))
                .FailedWith($"device {claimedSerial}/linux is enrolled with another EK ({hash}): unenroll it first");
            Assert.Contains($"EK pinned:     {hash}", (await Admin.Dtctl("devices", "get", "--asset-tag", claimedSerial)).Succeeded().StdOut);
            (await Admin.Dtctl("devices", "update", "--asset-tag", claimedSerial, "--ek-hash", "sha256:12")).FailedWith("EK hash \"sha256:12\" is not sha256: and 64 hex digits");
            // unpinned, the class is what the device claimed again
            (await Admin.Dtctl("devices", "update", "--asset-tag", claimedSerial, "--ek-hash", "none")).Succeeded();
            Assert.Contains("(tpm_ekcert)", (await Admin.Dtctl("devices", "get", "--asset-tag", claimedSerial)).Succeeded().StdOut);
            Assert.Contains("WARNING: min_attestation tpm_ekcert_trusted cannot be met: no EK CAs are configured",
                (await Admin.Dtctl("config", "set", "min-attestation", "tpm_ekcert_trusted")).Succeeded().StdErr);
        }
        finally
        {
            (await Admin.Dtctl("config", "set", "min-attestation", "unspecified")).Succeeded();
        }
    }

    [Fact]
    public async Task A_windows_style_sha1_ak_is_refused_by_default_and_admitted_only_with_the_setting()
    {
        // a TPM whose AK (under the storage root key, as Windows makes them) has name SHA-256 and signs RSASSA/SHA-1
        await using var tpm = await SoftwareTpm.StartAsync();
        await tpm.ShellAsync("""
            set -e; t=$(mktemp -d)
            st_tool "$D" "$P" tpm2_create -C 0x81000001 -G rsa2048:rsassa-sha1:null -g sha256 \
              -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign' -u "$t/ak.pub" -r "$t/ak.priv" >/dev/null
            TPM2TOOLS_TCTI=$(st_tcti "$D" "$P") tpm2_load -C 0x81000001 -u "$t/ak.pub" -r "$t/ak.priv" -c "$t/ak.ctx" >/dev/null
            TPM2TOOLS_TCTI=$(st_tcti "$D" "$P") tpm2_evictcontrol -C o -c "$t/ak.ctx" 0x81000201 >/dev/null
            st_flush "$D" "$P"; rm -rf "$t"
            """);
        var serial = NewSerial();
        var device = (await AtTpmDeviceAsync(serial)).With("DTSH_TPM", tpm.Tcti);
        var reason = "AK scheme RSASSA/SHA1 signs with SHA-1, which the cluster does not accept (dtctl config set allow-sha1-signatures true admits such TPMs, e.g. Windows AKs, on purpose)";
        (await device.Dtsh("device", "enroll", "--token=" + await TokenForAsync(serial))).FailedWith(reason);
        Assert.Contains("Enroll Status: not enrolled", (await Admin.Dtctl("devices", "get", "--asset-tag", serial)).Succeeded().StdOut);
        using var channel = Client.Connection.GatewayChannel.ForProfile(new Client.Profiles.ProfileStore(Admin.Home).Load()!);
        var refused = await AuditTrail.LastAsync(channel, "device.enroll", e => e.AssetTag == serial);
        Assert.False(refused.Success);
        Assert.Equal("PermissionDenied", refused.Status);
        Assert.Contains(reason, refused.Message);

        var allowed = (await Admin.Dtctl("config", "set", "allow-sha1-signatures", "true")).Succeeded();
        Assert.Contains("allow_sha1_signatures: true", allowed.StdOut);
        Assert.Contains("WARNING: TPM quotes signed with SHA-1 are now admitted", allowed.StdErr);
        try
        {
            var token = (await Admin.Dtctl("devices", "enroll", "--asset-tag", serial)).Succeeded().StdOut
                .Split('\n').Single(l => l.StartsWith("dtsh device enroll --token=", StringComparison.Ordinal))["dtsh device enroll --token=".Length..].Trim();
            Assert.Contains($"Device \"{serial}\"/linux enrolled", (await device.Dtsh("device", "enroll", "--token=" + token)).Succeeded().StdOut);
            (await device.Dtsh("device", "authenticate")).Succeeded();
        }
        finally
        {
            (await Admin.Dtctl("config", "set", "allow-sha1-signatures", "false")).Succeeded();
        }
        // turned off again: the enrolled SHA-1 device no longer proves itself at the next login
        var before = (await Admin.Dtctl("devices", "get", "--asset-tag", serial)).Succeeded().StdOut;
        var login = (await device.DtshWithInput("password for " + serial + "\n", "login", "--user", "u" + serial.ToLowerInvariant())).Succeeded();
        var quoteReason = "the quote signs with SHA-1, which the cluster does not accept (dtctl config set allow-sha1-signatures true admits such TPMs, e.g. Windows AKs, on purpose)";
        Assert.Contains("WARNING: device authentication failed: " + quoteReason, login.StdErr);
        Assert.DoesNotContain("device-id=", (await device.Dtsh("status")).Succeeded().StdOut);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(channel, "device.authenticate", e => e.AssetTag == serial), Grpc.Core.StatusCode.PermissionDenied, quoteReason);
        Assert.Equal(before, (await Admin.Dtctl("devices", "get", "--asset-tag", serial)).Succeeded().StdOut);
    }
}

/// <summary>A TPM device that cannot activate the credential (it sends another secret) is refused, with the reason audited.</summary>
public sealed class TpmActivationAttackTests(TpmCluster cluster) : IClassFixture<TpmCluster>
{
    private SoftwareTpm SoftTpm => cluster.Tpm;
    private Cli Admin => cluster.Admin;

    [Fact]
    public async Task A_wrong_credential_secret_is_refused()
    {
        var serial = "W" + Guid.NewGuid().ToString("N")[..11].ToUpperInvariant();
        var added = (await Admin.Dtctl("devices", "add", "--os", "linux", "--asset-tag", serial, "--enroll")).Succeeded().StdOut;
        var token = added.Split('\n').Single(l => l.StartsWith("dtsh device enroll --token=", StringComparison.Ordinal))["dtsh device enroll --token=".Length..].Trim();
        using var channel = Client.Connection.GatewayChannel.ForProfile(new Client.Profiles.ProfileStore(Admin.Home).Load()!);
        using var tpm = Tpm.Device.TpmDevice.Open(SoftTpm.Tcti);
        var ek = tpm.EndorsementKey();
        var akPublic = tpm.AttestationKey(ek);
        using var call = new Proto.V1.DeviceTrustService.DeviceTrustServiceClient(channel).EnrollDevice();
        await call.RequestStream.WriteAsync(new Proto.V1.EnrollDeviceRequest
        {
            Init = new Proto.V1.EnrollDeviceInit
            {
                Token = token,
                CredentialId = Tpm.Verification.TpmCredentials.IdOf(Tpm.Structures.TpmPublic.ParseSized(akPublic)),
                DeviceData = new Proto.V1.DeviceCollectedData { OsType = Proto.V1.OSType.Linux, SerialNumber = serial, OsVersion = "12" },
                Tpm = new Proto.V1.TPMEnrollPayload
                {
                    EkCert = Google.Protobuf.ByteString.CopyFrom(ek.Certificate!),
                    EkKey = Google.Protobuf.ByteString.CopyFrom(ek.Public),
                    AttestationParameters = new Proto.V1.TPMAttestationParameters { Public = Google.Protobuf.ByteString.CopyFrom(akPublic) },
                },
            },
        });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var challenge = call.ResponseStream.Current.TpmChallenge;
        var (attest, signature, pcrs) = tpm.Quote(challenge.AttestationNonce.ToByteArray(), DeviceTrust.Client.Devices.TpmCeremonies.QuotedPcrs);
        var answer = new Proto.V1.TPMEnrollChallengeResponse { Solution = Google.Protobuf.ByteString.CopyFrom(new byte[32]) };
        answer.Quotes.Add(new Proto.V1.TPMQuote { Quote = Google.Protobuf.ByteString.CopyFrom(attest), Signature = Google.Protobuf.ByteString.CopyFrom(signature) });
        answer.Pcrs.AddRange(pcrs.Select(p => new Proto.V1.TPMPCR { Index = p.Index, Digest = Google.Protobuf.ByteString.CopyFrom(p.Digest), DigestAlg = p.Hash }));
        await call.RequestStream.WriteAsync(new Proto.V1.EnrollDeviceRequest { TpmChallengeResponse = answer });
        const string Reason = "credential activation failed: the TPM did not recover the secret (the AK is not in the TPM that holds the EK)";
        Refusals.Is(Grpc.Core.StatusCode.PermissionDenied, Reason, await Refusals.Of(() => call.ResponseStream.MoveNext(CancellationToken.None)));
        Assert.Contains("Enroll Status: not enrolled", (await Admin.Dtctl("devices", "get", "--asset-tag", serial)).Succeeded().StdOut);
        AuditTrail.IsRefusal(await AuditTrail.LastAsync(channel, "device.enroll", e => e.AssetTag == serial), Grpc.Core.StatusCode.PermissionDenied, Reason);
    }
}

public sealed class TpmPermissionTests
{
    [Fact]
    public async Task A_user_who_may_not_open_the_tpm_is_told_how_to_fix_it()
    {
        using var directory = new TempDirectory("dt-tpm-perm");
        File.SetUnixFileMode(directory.Path, (UnixFileMode)0b111_111_111);
        var home = Directory.CreateDirectory(directory["home/device"]).Parent!.FullName;
        await File.WriteAllTextAsync(directory["home/device/credential.json"], """{"CredentialId":"x","Kind":"tpm","DeviceId":"","AssetTag":"","OsType":""}""");
        foreach (var path in new[] { home, directory["home/device"], directory["home/device/credential.json"] })
        {
            File.SetUnixFileMode(path, (UnixFileMode)0b111_111_111);
        }
        var device = directory["tpmrm0"];
        await File.WriteAllBytesAsync(device, []);
        File.SetUnixFileMode(device, UnixFileMode.None);
        // root may open anything: run dtsh as an unprivileged user, as a person at the device would be
        var asRoot = Environment.UserName == "root";
        var environment = new Dictionary<string, string?> { ["HOME"] = directory.Path, ["DOTNET_CLI_HOME"] = directory.Path, ["DTSH_HOME"] = home, ["DTSH_TPM"] = "device:" + device };
        var result = asRoot
            ? await ProcessRunner.RunAsync("runuser", ["-u", "nobody", "--", "env", .. environment.Select(e => $"{e.Key}={e.Value}"), "dotnet", Binaries.Dtsh, "device", "keyget"], workingDirectory: "/tmp")
            : await ProcessRunner.RunAsync("dotnet", [Binaries.Dtsh, "device", "keyget"], environment: environment);
        result.FailedWith($"ERROR: failed to open the TPM device {device}: permission denied; add your user to the tss group or install udev rules like the TPM2 Software Stack's");
        Assert.DoesNotContain("Unhandled exception", result.Output);
    }
}
