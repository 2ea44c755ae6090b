using DeviceTrust.Core.Errors;
using Grpc.Core;

namespace DeviceTrust.Gateway.Ceremonies;

/// <summary>A device went silent: no first message in time, or no end in time.</summary>
public sealed class CeremonyTimeoutException(string message) : Exception(message);

/// <summary>
/// Reads the messages of one ceremony stream under its deadlines: the first message within
/// <paramref name="firstMessageTimeout"/>, the whole ceremony within <paramref name="ceremonyTimeout"/>
/// (DeviceTrust:Gateway:CeremonyFirstMessageTimeout and CeremonyTimeout, 10 s and 60 s by default).
/// </summary>
public sealed class CeremonyStream<TRequest>(IAsyncStreamReader<TRequest> requests, TimeSpan firstMessageTimeout, TimeSpan ceremonyTimeout,
    CancellationToken callCancelled) : IDisposable
    where TRequest : class
{
    private readonly CancellationTokenSource _whole = CreateWhole(ceremonyTimeout, callCancelled);
    private bool _first = true;

    public CancellationToken Cancellation => _whole.Token;

    public async Task<TRequest> NextAsync(string expected)
    {
        using var first = new CancellationTokenSource(_first ? firstMessageTimeout : Timeout.InfiniteTimeSpan);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_whole.Token, first.Token);
        try
        {
            if (!await requests.MoveNext(linked.Token))
            {
                throw DeviceTrustException.InvalidArgument($"the stream ended before {expected}");
            }
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled } && !callCancelled.IsCancellationRequested)
        {
            throw new CeremonyTimeoutException(first.IsCancellationRequested
                ? $"the device sent no {expected} within {firstMessageTimeout.TotalSeconds:F0} s"
                : $"the ceremony did not finish within {ceremonyTimeout.TotalSeconds:F0} s");
        }
        _first = false;
        return requests.Current;
    }

    public void Dispose() => _whole.Dispose();

    private static CancellationTokenSource CreateWhole(TimeSpan timeout, CancellationToken callCancelled)
    {
        var whole = CancellationTokenSource.CreateLinkedTokenSource(callCancelled);
        whole.CancelAfter(timeout);
        return whole;
    }
}
