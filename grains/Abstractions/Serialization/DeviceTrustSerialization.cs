using System.Text.Json;
using System.Text.Json.Serialization;
using Orleans.Serialization;

namespace DeviceTrust.Grains.Serialization;

public static class DeviceTrustSerialization
{
    /// <summary>
    /// The System.Text.Json settings of our records, on the wire between silos and clients and in stored grain
    /// state: one definition, so what a grain stores reads back the same everywhere.
    /// </summary>
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.General)
    {
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>
    /// Domain records from core/ (no Orleans attributes there) cross grain calls as System.Text.Json; exceptions
    /// keep their own surrogate. Silos and Orleans clients must both register this.
    /// </summary>
    public static ISerializerBuilder AddDeviceTrustCoreTypes(this ISerializerBuilder serializer) =>
        serializer.AddJsonSerializer(
            isSupported: type => type.Namespace?.StartsWith("DeviceTrust.Core", StringComparison.Ordinal) == true && !typeof(Exception).IsAssignableFrom(type),
            jsonSerializerOptions: Json);
}
