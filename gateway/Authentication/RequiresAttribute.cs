namespace DeviceTrust.Gateway.Authentication;

/// <summary>The verb on a resource a caller's roles must allow for this RPC (checked by <see cref="GatewayInterceptor"/>).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RequiresAttribute(string resource, string verb) : Attribute
{
    public string Resource { get; } = resource;
    public string Verb { get; } = verb;
}

/// <summary>
/// The RPC is open to every authenticated user (their own identity, their own devices, the ceremonies, whose own
/// checks decide). Every RPC says which of this, <see cref="RequiresAttribute"/> or AllowAnonymous it is: the
/// gateway refuses to start otherwise, so a new RPC cannot ship without an authorization decision.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class AnyUserAttribute : Attribute;

/// <summary>
/// The audit event code of an RPC. The interceptor writes exactly one event per call with it: on success (unless
/// <see cref="Reads"/>: reads change nothing and are not recorded when they succeed) and on every refusal, with the
/// real reason. <see cref="BySelf"/> methods (the anonymous logins, the ceremonies) write their own event, since
/// they learn who and what only from the messages.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class AuditedAttribute(string code) : Attribute
{
    public string Code { get; } = code;
    public bool Reads { get; init; }
    public bool BySelf { get; init; }
}
