using System.Text;
using DeviceTrust.Client.Devices;
using DeviceTrust.Testing;
using DeviceTrust.Tpm.Codec;

namespace DeviceTrust.Core.Tests;

/// <summary>What the device client quotes: the boot PCRs and every PCR its event log measures, so no entry goes unchecked.</summary>
public class TpmQuoteSelectionTests
{
    private static byte[] Legacy(params int[] pcrs) => TcgLogWriter.Legacy(pcrs.Select(p => (p, "event")));

    private static byte[] Agile(params int[] pcrs) => TcgLogWriter.Agile(pcrs.Select(p => (p, "event")), TpmAlg.Sha256);

    private static string Selection(byte[] log) =>
        string.Join(" ", TpmCeremonies.PcrsFor(log).Select(b => $"{TpmAlg.Name(b.Hash)}:{string.Join(",", b.Pcrs)}"));

    [Fact]
    public void The_boot_pcrs_and_every_pcr_the_log_measures_are_quoted()
    {
        Assert.Equal("SHA256:0,1,2,3,4,5,6,7", Selection([]));
        Assert.Equal("SHA256:0,1,2,3,4,5,6,7,8,9,14", Selection(Agile(0, 4, 9, 8, 14, 4)));
        // a legacy log can only be checked against the SHA-1 bank
        Assert.Equal("SHA256:0,1,2,3,4,5,6,7 SHA1:0,5,8", Selection(Legacy(8, 0, 5)));
        // a log the client cannot read goes with the boot PCRs; the cluster says what is wrong with it
        Assert.Equal("SHA256:0,1,2,3,4,5,6,7", Selection([1, 2, 3]));
    }

    [Fact]
    public void The_log_is_read_from_the_first_readable_place_bounded_and_never_for_a_software_tpm()
    {
        using var folder = new TempDirectory("dt-eventlog");
        var published = Path.Combine(folder.Path, "binary_bios_measurements");
        var log = Agile(0, 7);
        File.WriteAllBytes(published, log);
        // the kernel's file is root's: the copy root published at boot is sent instead
        Assert.Equal(log, TpmCeremonies.EventLog("device:/dev/tpmrm0", Path.Combine(folder.Path, "missing"), published).ToByteArray());
        Assert.Equal(log, TpmCeremonies.EventLog(null, published).ToByteArray());
        Assert.True(TpmCeremonies.EventLog("swtpm:host=127.0.0.1,port=2321", published).IsEmpty);
        Assert.True(TpmCeremonies.EventLog(null, Path.Combine(folder.Path, "missing")).IsEmpty);
        // a huge file is cut one byte past what the cluster accepts, so the cluster refuses it with its reason
        var huge = Path.Combine(folder.Path, "huge");
        File.WriteAllBytes(huge, new byte[Tpm.EventLog.TcgEventLog.MaxBytes * 2]);
        Assert.Equal(Tpm.EventLog.TcgEventLog.MaxBytes + 1, TpmCeremonies.EventLog(null, huge).Length);
    }

    [Fact]
    public async Task The_example_unit_publishes_a_readable_copy_of_a_file_the_kernel_reports_as_empty()
    {
        // the unit's command, run against a /proc file (size 0 in stat, like securityfs) and a temporary /run
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Cluster.sln")))
        {
            root = Path.GetDirectoryName(root)!;
        }
        var unit = await File.ReadAllLinesAsync(Path.Combine(root, "docs", "examples", "devicetrust-eventlog.service"));
        var command = unit.Single(l => l.StartsWith("ExecStart=/bin/sh -c '", StringComparison.Ordinal))["ExecStart=/bin/sh -c '".Length..^1];
        using var folder = new TempDirectory("dt-unit");
        var run = Path.Combine(folder.Path, "run", "devicetrust");
        command = command.Replace("/sys/kernel/security/tpm0/binary_bios_measurements", "/proc/version", StringComparison.Ordinal)
            .Replace("/run/devicetrust", run, StringComparison.Ordinal);
        var result = await ProcessRunner.RunAsync("/bin/sh", ["-c", command]);
        Assert.True(result.ExitCode == 0, result.ToString());
        var copy = Path.Combine(run, "binary_bios_measurements");
        Assert.Equal(await File.ReadAllBytesAsync("/proc/version"), await File.ReadAllBytesAsync(copy));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(copy));
        Assert.Equal(await File.ReadAllBytesAsync("/proc/version"), TpmCeremonies.EventLog(null, "/nonexistent", copy).ToByteArray());
    }
}
