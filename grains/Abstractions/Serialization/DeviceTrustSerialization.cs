using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Serialization.Cloning;

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
    /// keep their own surrogate. Within a process, the immutable ones pass by reference
    /// (<see cref="ImmutableCoreRecords"/>) and only the others are copied through JSON. Silos and Orleans clients
    /// must both register this.
    /// </summary>
    public static ISerializerBuilder AddDeviceTrustCoreTypes(this ISerializerBuilder serializer)
    {
        serializer.Services.AddSingleton<IGeneralizedCopier, ImmutableCoreRecords.ByReferenceCopier>();
        return serializer.AddJsonSerializer(
            isSerializable: IsCoreType,
            isCopyable: type => IsCoreType(type) && !ImmutableCoreRecords.Contains(type),
            configureOptions: options => options.Configure(json => json.SerializerOptions = Json));
    }

    private static bool IsCoreType(Type type) =>
        type.Namespace?.StartsWith("DeviceTrust.Core", StringComparison.Ordinal) == true && !typeof(Exception).IsAssignableFrom(type);
}
