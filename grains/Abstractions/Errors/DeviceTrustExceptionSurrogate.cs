using DeviceTrust.Core.Errors;

namespace DeviceTrust.Grains.Errors;

/// <summary>
/// Carries a <see cref="DeviceTrustException"/> across grain calls with its kind intact (core has no Orleans
/// attributes, so the exception travels as this surrogate).
/// </summary>
[GenerateSerializer, Alias("dt.DeviceTrustException")]
public readonly record struct DeviceTrustExceptionSurrogate(
    [property: Id(0)] ErrorKind Kind,
    [property: Id(1)] string Message,
    [property: Id(2)] TimeSpan? RetryAfter);

[RegisterConverter]
public sealed class DeviceTrustExceptionConverter : IConverter<DeviceTrustException, DeviceTrustExceptionSurrogate>
{
    public DeviceTrustException ConvertFromSurrogate(in DeviceTrustExceptionSurrogate surrogate) =>
        surrogate is { Kind: ErrorKind.ResourceExhausted, RetryAfter: { } retry }
            ? DeviceTrustException.ResourceExhausted(surrogate.Message, retry)
            : new(surrogate.Kind, surrogate.Message);

    public DeviceTrustExceptionSurrogate ConvertToSurrogate(in DeviceTrustException value) => new(value.Kind, value.Message, value.RetryAfter);
}
