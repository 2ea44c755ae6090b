namespace DeviceTrust.Gateway.Authentication;

/// <summary>The verb on a resource a caller's roles must allow for this RPC (checked by <see cref="GatewayInterceptor"/>).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RequiresAttribute(string resource, string verb) : Attribute
{
    public string Resource { get; } = resource;
    public string Verb { get; } = verb;
}
