using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.Structures;
using DeviceTrust.Tpm.Verification;

namespace DeviceTrust.LoadTest;

/// <summary>
/// <c>tpm-verify</c>: in-process quote verifications per second on every core (parse, AK scheme check, signature,
/// nonce, PCR digest, qualified signer), against the raw RSA-2048 / P-256 signature verification rate of the same
/// quotes measured in the same run. The target is at least half the raw rate.
/// </summary>
public static class QuoteVerifyBenchmark
{
    private static readonly string[] Kinds = ["rsa", "ecc"];

    public static Command Create()
    {
        var fixtures = new Option<string>("--fixtures") { Description = "The golden TPM fixtures folder", DefaultValueFactory = _ => "tests/DeviceTrust.Tpm.Tests/Fixtures" };
        var seconds = new Option<double>("--seconds") { DefaultValueFactory = _ => 5 };
        var command = new Command("tpm-verify", "Measure quote verification throughput against raw signature verification") { fixtures, seconds };
        command.SetAction(result =>
        {
            var folder = result.GetValue(fixtures)!;
            var duration = TimeSpan.FromSeconds(result.GetValue(seconds));
            Console.WriteLine($"{Environment.ProcessorCount} cores, {duration.TotalSeconds:F0} s per measurement");
            foreach (var kind in Kinds)
            {
                var ak = TpmPublic.ParseSized(File.ReadAllBytes(Path.Combine(folder, kind, "ak.pub")));
                var attest = File.ReadAllBytes(Path.Combine(folder, kind, "quote-1.attest"));
                var sig = File.ReadAllBytes(Path.Combine(folder, kind, "quote-1.sig"));
                var nonce = File.ReadAllBytes(Path.Combine(folder, kind, "quote-1.nonce"));
                var qualified = File.ReadAllBytes(Path.Combine(folder, kind, "ak.qname"));
                var pcrs = File.ReadAllLines(Path.Combine(folder, kind, "quote-1.pcrs")).Where(l => l.Length > 0).Select(l => l.Split(' '))
                    .Select(p => new PcrValue(p[0] == "sha1" ? TpmAlg.Sha1 : TpmAlg.Sha256, int.Parse(p[1], CultureInfo.InvariantCulture), Convert.FromHexString(p[2])))
                    .ToList();
                var signature = TpmSignature.Parse(sig);
                var akBytes = File.ReadAllBytes(Path.Combine(folder, kind, "ak.pub"));
                byte[] p1363 = [.. signature.R, .. signature.S];
                var raw = Rate(duration, () =>
                {
                    if (ak.IsRsa)
                    {
                        using var rsa = ak.ToRsa();
                        return rsa.VerifyData(attest, signature.Rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
                    }
                    using var ecdsa = ak.ToECDsa();
                    return ecdsa.VerifyData(attest, p1363, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
                });
                var full = Rate(duration, () =>
                {
                    // what a verifier does per quote: parse the stored AK bytes, then verify everything
                    QuoteVerifier.Verify(TpmPublic.ParseSized(akBytes), attest, sig, nonce, pcrs, qualified);
                    return true;
                });
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{(kind == "rsa" ? "RSA-2048 RSASSA" : "P-256 ECDSA"),-16} raw verify {raw,9:F0}/s   quote verification {full,9:F0}/s   ratio {full / raw:P0}"));
            }
            return 0;
        });
        return command;
    }

    /// <summary>Operations per second with one worker per core; both sides import the AK's key per operation, as a verifier holding stored bytes does.</summary>
    private static double Rate(TimeSpan duration, Func<bool> operation)
    {
        operation(); // warm up
        long count = 0;
        var timer = Stopwatch.StartNew();
        Parallel.For(0, Environment.ProcessorCount, _ =>
        {
            long local = 0;
            while (timer.Elapsed < duration)
            {
                if (!operation())
                {
                    throw new InvalidOperationException("verification failed during the benchmark");
                }
                local++;
            }
            Interlocked.Add(ref count, local);
        });
        return count / timer.Elapsed.TotalSeconds;
    }
}
