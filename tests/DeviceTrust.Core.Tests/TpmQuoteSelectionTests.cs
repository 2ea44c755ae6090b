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
}
