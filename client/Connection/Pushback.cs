using System.Globalization;
using Grpc.Core;

namespace DeviceTrust.Client.Connection;

/// <summary>
/// A gateway that is briefly busy (all its password workers taken) refuses at once with ResourceExhausted and the
/// standard <c>grpc-retry-pushback-ms</c> trailer. A short pushback is waited out and the call tried again, a few
/// times; a long one (a rate limit) is left to the person, with the gateway's message.
/// </summary>
public static class Pushback
{
    private static readonly TimeSpan LongestWait = TimeSpan.FromSeconds(2);
    private const int Attempts = 8;

    public static async Task<T> RetryAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (RpcException e) when (attempt < Attempts && e.StatusCode == StatusCode.ResourceExhausted && Wait(e) is { } wait && wait <= LongestWait)
            {
                await Task.Delay(wait + TimeSpan.FromMilliseconds(Random.Shared.Next(0, 100)), cancellationToken);
            }
        }
    }

    private static TimeSpan? Wait(RpcException e) =>
        e.Trailers.GetValue("grpc-retry-pushback-ms") is { } text && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            ? TimeSpan.FromMilliseconds(ms)
            : null;
}
