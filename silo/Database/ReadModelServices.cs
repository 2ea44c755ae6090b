using DeviceTrust.Grains.Inventory;
using DeviceTrust.Grains.ReadModels;
using DeviceTrust.Silo.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace DeviceTrust.Silo.Database;

public static class ReadModelServices
{
    /// <summary>The read models over this node's database: the user directory, the device inventory and the audit log; and bulk device creation.</summary>
    public static IServiceCollection AddDeviceTrustReadModels(this IServiceCollection services, DeviceTrustHostOptions options, string serviceId)
    {
        services.AddSingleton<IUserDirectory>(new UserDirectory(options, serviceId));
        services.AddSingleton<IDeviceInventory>(new DeviceInventoryQuery(options, serviceId));
        services.AddSingleton<IAuditLog>(new AuditLog(options));
        services.AddSingleton<IDeviceImport>(provider => new DeviceImport(options, serviceId, provider.GetService<TimeProvider>() ?? TimeProvider.System));
        return services;
    }
}
