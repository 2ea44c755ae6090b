using System.Text.Json;
using DeviceTrust.Grains.Serialization;
using Orleans.Storage;

namespace DeviceTrust.Silo.Database;

/// <summary>
/// Grain state as plain System.Text.Json (no CLR type names), so stored rows are readable, survive class
/// renames, and <see cref="GrainStateQuery"/> can read them with the same settings.
/// </summary>
public sealed class GrainStateJsonSerializer : IGrainStorageSerializer
{
    public BinaryData Serialize<T>(T? input) => new(JsonSerializer.SerializeToUtf8Bytes(input, DeviceTrustSerialization.Json));

    public T Deserialize<T>(BinaryData input) =>
        JsonSerializer.Deserialize<T>(input.ToMemory().Span, DeviceTrustSerialization.Json)!;
}
