using DeviceTrust.Core.Errors;
using Grpc.Core;

namespace DeviceTrust.Gateway.Ceremonies;

/// <summary>A device went silent: no first message within 10 s, or no end within 60 s.</summary>
public sealed class CeremonyTimeoutException(string message) : Exception(message);

/// <summary>
/// Reads the messages of one ceremony stream under its deadlines: the first message within
/// <see cref="FirstMessageTimeout"/>, the whole ceremony within <see cref="CeremonyTimeout"/>.
/// </summary>
public sealed class CeremonyStream<TRequest>(IAsyncStreamReader<TRequest> requests, CancellationToken callCancelled) : IDisposable
    where TRequest : class
{
    public static readonly TimeSpan FirstMessageTimeout = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan CeremonyTimeout = TimeSpan.FromSeconds(60);

    private readonly CancellationTokenSource _whole = CreateWhole(callCancelled);
    private bool _first = true;

    public CancellationToken Cancellation => _whole.Token;

    public async Task<TRequest> NextAsync(string expected)
    {
        using var first = new CancellationTokenSource(_first ? FirstMessageTimeout : Timeout.InfiniteTimeSpan);
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
                ? $"the device sent no {expected} within {FirstMessageTimeout.TotalSeconds:F0} s"
                : $"the ceremony did not finish within {CeremonyTimeout.TotalSeconds:F0} s");
        }
        _first = false;
        return requests.Current;
    }

    public void Dispose() => _whole.Dispose();

    private static CancellationTokenSource CreateWhole(CancellationToken callCancelled)
    {
        var whole = CancellationTokenSource.CreateLinkedTokenSource(callCancelled);
        whole.CancelAfter(CeremonyTimeout);
        return whole;
    }
}
