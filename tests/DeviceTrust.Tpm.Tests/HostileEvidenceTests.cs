using CsCheck;
using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.EventLog;
using DeviceTrust.Tpm.Structures;
using DeviceTrust.Tpm.Verification;

namespace DeviceTrust.Tpm.Tests;

/// <summary>
/// Generated hostile TPM evidence: random bytes and real evidence mutated at random (flipped, cut, grown) reach each
/// parser and the quote verifier, which either accept or refuse with their own exceptions, never anything else (an
/// index or overflow error would become Internal at the gateway). None of the parsers recurses.
/// </summary>
public sealed class HostileEvidenceTests
{
    private const int Iterations = 4000;

    private static void Refuses(Action parse)
    {
        try
        {
            parse();
        }
        catch (Exception e) when (e is TpmFormatException or TpmVerificationException)
        {
        }
    }

    /// <summary>Real evidence with a few random edits: bytes changed, a run cut out, bytes inserted.</summary>
    private static Gen<byte[]> Mutated(byte[] original) =>
        Gen.Select(Gen.Int[0, 2], Gen.Int[0, Math.Max(0, original.Length - 1)], Gen.Int[1, 8], Gen.Byte.Array[1, 8]).Select((kind, at, length, bytes) =>
        {
            var copy = original.ToList();
            switch (kind)
            {
                case 0:
                    for (var i = 0; i < bytes.Length && at + i < copy.Count; i++)
                    {
                        copy[at + i] ^= (byte)(bytes[i] | 1);
                    }
                    break;
                case 1:
                    copy.RemoveRange(Math.Min(at, copy.Count), Math.Min(length, copy.Count - Math.Min(at, copy.Count)));
                    break;
                default:
                    copy.InsertRange(Math.Min(at, copy.Count), bytes);
                    break;
            }
            return copy.ToArray();
        });

    [Fact]
    public void Random_bytes_are_parsed_or_refused_by_every_structure_parser()
    {
        var ek = Fixture.Public("rsa/ek.pub");
        Gen.Byte.Array[0, 700].Sample(bytes =>
        {
            Refuses(() => TpmPublic.Parse(bytes));
            Refuses(() => TpmPublic.ParseSized(bytes));
            Refuses(() => TpmAttest.Parse(bytes));
            Refuses(() => TpmSignature.Parse(bytes));
            Refuses(() => CreationData.Parse(bytes));
            Refuses(() => IdObject.Parse(bytes));
            Refuses(() => EncryptedSecret.Parse(bytes, ek));
            Refuses(() => TcgEventLog.Parse(bytes));
        }, iter: Iterations);
    }

    [Theory]
    [InlineData("rsa")]
    [InlineData("rsapss")]
    [InlineData("ecc")]
    public void Mutated_quotes_and_keys_are_verified_or_refused(string kind)
    {
        var ak = Fixture.Bytes($"{kind}/ak.pub");
        var attest = Fixture.Bytes($"{kind}/quote-1.attest");
        var signature = Fixture.Bytes($"{kind}/quote-1.sig");
        var nonce = Fixture.Bytes($"{kind}/quote-1.nonce");
        var pcrs = Fixture.Pcrs($"{kind}/quote-1.pcrs");
        var qualified = Fixture.Bytes($"{kind}/ak.qname");
        Gen.Select(Gen.Int[0, 2], Mutated(ak), Mutated(attest), Mutated(signature)).Sample((part, mutatedAk, mutatedAttest, mutatedSignature) =>
            Refuses(() => QuoteVerifier.Verify(
                TpmPublic.ParseSized(part == 0 ? mutatedAk : ak),
                part == 1 ? mutatedAttest : attest,
                part == 2 ? mutatedSignature : signature,
                nonce, pcrs, qualified)), iter: Iterations / 4);
    }
}
