using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Core.Certificates;
using DeviceTrust.Grains.Users;
using Grpc.Core;

namespace DeviceTrust.Gateway.Authentication;

/// <summary>Who is calling: the user named by the verified client certificate, looked up live, and any device identity it carries.</summary>
public sealed record Caller(UserView User, X509Certificate2 Certificate, DeviceExtensions? Device)
{
    public string Name => User.Name;

    public static Caller Of(ServerCallContext context) =>
        context.GetHttpContext().Items[typeof(Caller)] as Caller
        ?? throw new InvalidOperationException("no authenticated caller: the RPC is anonymous or the interceptor did not run");
}
