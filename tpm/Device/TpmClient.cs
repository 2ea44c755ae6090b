using System.Buffers.Binary;
using System.Security.Cryptography;
using DeviceTrust.Tpm.Codec;
using DeviceTrust.Tpm.Structures;

namespace DeviceTrust.Tpm.Device;

/// <summary>
/// TPM 2.0 commands in raw bytes (Part 3), only the ones the ceremonies need. Framing: tag ‖ size ‖ code ‖ handles ‖
/// [authorization area] ‖ parameters. Sessions: the empty password (hierarchies, NV, the AK with userWithAuth), or a
/// policy session satisfied by PolicySecret(endorsement) for the EK. Commands answered with RETRY are re-sent.
/// </summary>
public sealed class TpmClient(ITpmTransport transport) : IDisposable
{
    public const uint Owner = 0x40000001;
    public const uint NullHandle = 0x40000007;
    public const uint PasswordSession = 0x40000009;
    public const uint Endorsement = 0x4000000B;

    private const ushort NoSessions = 0x8001;
    private const ushort Sessions = 0x8002;

    /// <summary>An authorization: the empty password, or a policy session handle.</summary>
    public readonly record struct Auth(uint Session)
    {
        public static Auth Password => new(PasswordSession);
    }

    public void Dispose() => transport.Dispose();

    // ---- objects -------------------------------------------------------------------------------------------------

    /// <summary>TPM2_CreatePrimary under the endorsement hierarchy; returns the transient handle and the public area.</summary>
    public (uint Handle, byte[] Public) CreatePrimary(byte[] template)
    {
        var parameters = new TpmWriter().Sized(new TpmWriter().Sized([]).Sized([]).ToArray()).Sized(template).Sized([]).U32(0).ToArray();
        var reader = Execute("CreatePrimary", 0x131, [Endorsement], [Auth.Password], parameters, out var handle);
        var outPublic = reader.Sized("outPublic");
        return (handle, new TpmWriter().Sized(outPublic).ToArray());
    }

    /// <summary>TPM2_ReadPublic: the TPM2B_PUBLIC, Name and qualified name of a loaded or persistent object.</summary>
    public (byte[] Public, byte[] Name, byte[] QualifiedName)? ReadPublic(uint handle)
    {
        var response = Send("ReadPublic", NoSessions, 0x173, [handle], [], []);
        if (RcOf(response) == 0x18B || RcOf(response) == 0x184)
        {
            return null; // no object at that handle
        }
        var reader = Parse("ReadPublic", response, handles: 0, sessions: 0, out _);
        var outPublic = reader.Sized("outPublic").ToArray();
        var name = reader.Sized("name").ToArray();
        var qualified = reader.Sized("qualifiedName").ToArray();
        return (new TpmWriter().Sized(outPublic).ToArray(), name, qualified);
    }

    /// <summary>TPM2_Create under a parent authorized by <paramref name="parentAuth"/>; returns TPM2B_PRIVATE and TPM2B_PUBLIC as the TPM gave them.</summary>
    public (byte[] Private, byte[] Public) Create(uint parent, Auth parentAuth, byte[] template)
    {
        var parameters = new TpmWriter().Sized(new TpmWriter().Sized([]).Sized([]).ToArray()).Sized(template).Sized([]).U32(0).ToArray();
        var reader = Execute("Create", 0x153, [parent], [parentAuth], parameters, out _);
        var outPrivate = reader.Sized("outPrivate").ToArray();
        var outPublic = reader.Sized("outPublic").ToArray();
        return (new TpmWriter().Sized(outPrivate).ToArray(), new TpmWriter().Sized(outPublic).ToArray());
    }

    /// <summary>TPM2_Load of a key created under <paramref name="parent"/>; returns its transient handle.</summary>
    public uint Load(uint parent, Auth parentAuth, byte[] sizedPrivate, byte[] sizedPublic)
    {
        Execute("Load", 0x157, [parent], [parentAuth], [.. sizedPrivate, .. sizedPublic], out var handle);
        return handle;
    }

    /// <summary>TPM2_EvictControl by the owner: persists a transient object, or removes a persistent one (object = persistent).</summary>
    public void EvictControl(uint objectHandle, uint persistentHandle) =>
        Execute("EvictControl", 0x120, [Owner, objectHandle], [Auth.Password], new TpmWriter().U32(persistentHandle).ToArray(), out _);

    public void FlushContext(uint handle) =>
        Parse("FlushContext", Send("FlushContext", NoSessions, 0x165, [], [], new TpmWriter().U32(handle).ToArray()), 0, 0, out _);

    // ---- sessions ------------------------------------------------------------------------------------------------

    /// <summary>
    /// A policy session that satisfies the EK templates' authPolicy, PolicySecret(TPM_RH_ENDORSEMENT). Used once:
    /// the command that uses it flushes it on success; <see cref="WithEndorsementPolicy{T}"/> flushes it on failure.
    /// </summary>
    public uint StartEndorsementPolicy()
    {
        var parameters = new TpmWriter().Sized(RandomNumberGenerator.GetBytes(32)).Sized([]).U8(0x01).U16(TpmAlg.Null).U16(TpmAlg.Sha256).ToArray();
        var response = Send("StartAuthSession", NoSessions, 0x176, [NullHandle, NullHandle], [], parameters);
        Parse("StartAuthSession", response, handles: 1, sessions: 0, out var session);
        try
        {
            var secret = new TpmWriter().Sized([]).Sized([]).Sized([]).U32(0).ToArray();
            Execute("PolicySecret", 0x151, [Endorsement, session], [Auth.Password], secret, out _);
        }
        catch
        {
            FlushContext(session);
            throw;
        }
        return session;
    }

    public T WithEndorsementPolicy<T>(Func<Auth, T> command)
    {
        var session = StartEndorsementPolicy();
        try
        {
            return command(new Auth(session));
        }
        catch (TpmDeviceException)
        {
            // a failed command leaves the session loaded
            TryFlush(session);
            throw;
        }
    }

    // ---- NV ------------------------------------------------------------------------------------------------------

    /// <summary>The data size of an NV index, or null when it is not defined.</summary>
    public int? NvDataSize(uint index)
    {
        var response = Send("NV_ReadPublic", NoSessions, 0x169, [index], [], []);
        if (RcOf(response) != 0)
        {
            return null;
        }
        var reader = Parse("NV_ReadPublic", response, 0, 0, out _);
        var nvPublic = new TpmReader(reader.Sized("nvPublic"));
        nvPublic.U32("nvIndex");
        nvPublic.U16("nameAlg");
        nvPublic.U32("attributes");
        nvPublic.Sized("authPolicy");
        return nvPublic.U16("dataSize");
    }

    /// <summary>Reads a whole NV index with owner authorization, in chunks the TPM accepts.</summary>
    public byte[] NvRead(uint index, int size)
    {
        var chunk = Math.Min(NvBufferMax(), 1024);
        var data = new List<byte>(size);
        while (data.Count < size)
        {
            var take = Math.Min(chunk, size - data.Count);
            var reader = Execute("NV_Read", 0x14E, [Owner, index], [Auth.Password], new TpmWriter().U16((ushort)take).U16((ushort)data.Count).ToArray(), out _);
            data.AddRange(reader.Sized("data").ToArray());
        }
        return data.ToArray();
    }

    private int NvBufferMax()
    {
        var parameters = new TpmWriter().U32(6).U32(0x12C).U32(1).ToArray(); // TPM_CAP_TPM_PROPERTIES, TPM_PT_NV_BUFFER_MAX
        var reader = Parse("GetCapability", Send("GetCapability", NoSessions, 0x17A, [], [], parameters), 0, 0, out _);
        reader.U8("moreData");
        reader.U32("capability");
        return reader.U32("count") > 0 && reader.U32("property") == 0x12C ? (int)reader.U32("value") : 512;
    }

    // ---- credential activation, PCRs and quotes ------------------------------------------------------------------

    /// <summary>TPM2_ActivateCredential: the AK (password) and the EK (policy), in that order.</summary>
    public byte[] ActivateCredential(uint ak, uint ek, Auth ekAuth, byte[] idObject, byte[] encryptedSecret)
    {
        var reader = Execute("ActivateCredential", 0x147, [ak, ek], [Auth.Password, ekAuth], [.. idObject, .. encryptedSecret], out _);
        return reader.Sized("certInfo").ToArray();
    }

    /// <summary>TPM2_PCR_Read of every selected PCR (at most 8 come back per call: loop until all did).</summary>
    public IReadOnlyList<(ushort Hash, int Index, byte[] Digest)> PcrRead(IReadOnlyList<PcrBank> selection)
    {
        var wanted = selection.Select(b => (b.Hash, Pcrs: new SortedSet<int>(b.Pcrs))).ToList();
        var values = new List<(ushort, int, byte[])>();
        while (wanted.Any(w => w.Pcrs.Count > 0))
        {
            var request = new TpmWriter();
            PcrSelection.Write(request, wanted.Select(w => new PcrBank(w.Hash, w.Pcrs.ToList())).ToList());
            var reader = Parse("PCR_Read", Send("PCR_Read", NoSessions, 0x17E, [], [], request.ToArray()), 0, 0, out _);
            reader.U32("pcrUpdateCounter");
            var returned = PcrSelection.Read(ref reader);
            var count = reader.U32("digest count");
            var digests = new List<byte[]>();
            for (var i = 0; i < count; i++)
            {
                digests.Add(reader.Sized("digest").ToArray());
            }
            var next = 0;
            var progress = false;
            foreach (var bank in returned)
            {
                foreach (var index in bank.Pcrs)
                {
                    values.Add((bank.Hash, index, digests[next++]));
                    progress |= wanted.First(w => w.Hash == bank.Hash).Pcrs.Remove(index);
                }
            }
            if (!progress)
            {
                throw new TpmDeviceException("PCR_Read returned none of the requested PCRs: is that bank active on this TPM?");
            }
        }
        return selection.SelectMany(b => b.Pcrs.Select(i => values.First(v => v.Item1 == b.Hash && v.Item2 == i))).ToList();
    }

    /// <summary>TPM2_Quote with the AK's own scheme; returns the TPMS_ATTEST and TPMT_SIGNATURE bytes.</summary>
    public (byte[] Attest, byte[] Signature) Quote(uint ak, byte[] nonce, IReadOnlyList<PcrBank> selection)
    {
        var parameters = new TpmWriter().Sized(nonce).U16(TpmAlg.Null);
        PcrSelection.Write(parameters, selection);
        var reader = Execute("Quote", 0x158, [ak], [Auth.Password], parameters.ToArray(), out _);
        var attest = reader.Sized("quoted").ToArray();
        var signature = ReadSignature(ref reader);
        return (attest, signature);
    }

    private static byte[] ReadSignature(ref TpmReader reader)
    {
        var writer = new TpmWriter();
        var alg = reader.U16("sigAlg");
        writer.U16(alg).U16(reader.U16("hash"));
        if (alg == TpmAlg.EcDsa)
        {
            writer.Sized(reader.Sized("r")).Sized(reader.Sized("s"));
        }
        else
        {
            writer.Sized(reader.Sized("signature"));
        }
        return writer.ToArray();
    }

    // ---- framing -------------------------------------------------------------------------------------------------

    private TpmReader Execute(string name, uint code, uint[] handles, Auth[] auths, byte[] parameters, out uint responseHandle)
    {
        var response = Send(name, Sessions, code, handles, auths, parameters);
        var returnsHandle = code is 0x131 or 0x157;
        return Parse(name, response, returnsHandle ? 1 : 0, auths.Length, out responseHandle);
    }

    private byte[] Send(string name, ushort tag, uint code, uint[] handles, Auth[] auths, byte[] parameters)
    {
        var body = new TpmWriter();
        foreach (var handle in handles)
        {
            body.U32(handle);
        }
        if (tag == Sessions)
        {
            var area = new TpmWriter();
            foreach (var auth in auths)
            {
                // password: empty nonce, continueSession, empty password; policy: empty nonce, flush after use, empty hmac
                area.U32(auth.Session).Sized([]).U8(auth.Session == PasswordSession ? (byte)1 : (byte)0).Sized([]);
            }
            var bytes = area.ToArray();
            body.U32((uint)bytes.Length).Bytes(bytes);
        }
        body.Bytes(parameters);
        var payload = body.ToArray();
        var command = new TpmWriter().U16(tag).U32((uint)(10 + payload.Length)).U32(code).Bytes(payload).ToArray();
        for (var attempt = 0; ; attempt++)
        {
            var response = transport.Transmit(command);
            if (response.Length < 10)
            {
                throw new TpmDeviceException($"{name}: the TPM answered with {response.Length} bytes");
            }
            if (!ResponseCodes.ShouldRetry(RcOf(response)) || attempt >= 50)
            {
                return response;
            }
            // libtpms answers RETRY to the first dictionary-attack-protected authorization after start: send it again
            Thread.Sleep(Math.Min(10 * attempt, 100));
        }
    }

    private static uint RcOf(byte[] response) => BinaryPrimitives.ReadUInt32BigEndian(response.AsSpan(6));

    private static TpmReader Parse(string name, byte[] response, int handles, int sessions, out uint responseHandle)
    {
        var rc = RcOf(response);
        if (rc != 0)
        {
            throw new TpmDeviceException(name, rc);
        }
        var reader = new TpmReader(response.AsSpan(10).ToArray());
        responseHandle = handles > 0 ? reader.U32("handle") : 0;
        if (sessions > 0)
        {
            var size = reader.U32("parameterSize");
            return new TpmReader(reader.Bytes((int)size, "parameters").ToArray());
        }
        return reader;
    }

    private void TryFlush(uint handle)
    {
        try
        {
            FlushContext(handle);
        }
        catch (TpmDeviceException)
        {
            // already gone
        }
    }
}
