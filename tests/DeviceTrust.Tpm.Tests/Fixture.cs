using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.Structures;
using DeviceTrust.Tpm.Verification;

namespace DeviceTrust.Tpm.Tests;

/// <summary>The golden artifacts made by tests/tpm/make-fixtures.sh from swtpm and tpm2-tools.</summary>
public static class Fixture
{
    private static readonly string Root = Path.Combine(AppContext.BaseDirectory, "Fixtures");

    public static byte[] Bytes(string relative) => File.ReadAllBytes(Path.Combine(Root, relative));

    public static TpmPublic Public(string relative) => TpmPublic.ParseSized(Bytes(relative));

    /// <summary>The PCR values a device reported with a quote ("bank index hex" lines).</summary>
    public static List<PcrValue> Pcrs(string relative) =>
        File.ReadAllLines(Path.Combine(Root, relative))
            .Where(l => l.Length > 0)
            .Select(l => l.Split(' '))
            .Select(p => new PcrValue(p[0] == "sha1" ? TpmAlg.Sha1 : TpmAlg.Sha256, int.Parse(p[1], CultureInfo.InvariantCulture), Convert.FromHexString(p[2])))
            .ToList();

    public static X509Certificate2 Root_ => X509CertificateLoader.LoadCertificateFromFile(Path.Combine(Root, "ca/root.pem"));

    public static X509Certificate2 Intermediate => X509CertificateLoader.LoadCertificateFromFile(Path.Combine(Root, "ca/intermediate.pem"));

    /// <summary>
    /// The chain is checked at a pinned time: the swtpm CA's certificates start when the fixtures were generated, so a
    /// machine with a slower clock would otherwise see NotTimeValid.
    /// </summary>
    public static DateTimeOffset VerificationTime =>
        DateTimeOffset.Parse(File.ReadAllText(Path.Combine(Root, "generated-at")).Trim(), CultureInfo.InvariantCulture).AddDays(1);
}
