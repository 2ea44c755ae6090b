using System.Net.Sockets;
using DeviceTrust.Gateway.Errors;
using Grpc.Core;
using Microsoft.Data.Sqlite;
using Npgsql;
using Orleans.Runtime;
using Orleans.Runtime.Messaging;

namespace DeviceTrust.Grains.Tests;

/// <summary>
/// What a client is told when the cluster fails a call. While a cluster settles after a silo's death, silos reject
/// calls with whatever stopped them and the Orleans client rethrows that very exception, so these are the shapes
/// seen there: each must be a retryable Unavailable, and an error of ours or of our SQL must stay an internal error.
/// </summary>
public sealed class ErrorStatusTests
{
    [Fact]
    public void A_directory_that_is_settling_is_unavailable_not_an_internal_error()
    {
        var settling = new OrleansException("Current directory at S10.0.0.1:11111:1 is not stable to perform the lookup for grainId device/1 " +
                                            "(it maps to S10.0.0.2:11111:1, which is not a valid silo). Retry later.");

        Assert.Equal((StatusCode.Unavailable, "the cluster is settling after a node left: retry"), ErrorStatus.Expected(settling, CancellationToken.None));
    }

    [Fact]
    public void Network_and_timeout_causes_inside_an_orleans_error_are_unavailable()
    {
        Exception[] causes =
        [
            new Orleans.Networking.Shared.SocketConnectionException("Unable to connect to 10.0.0.2:11111. Error: ConnectionRefused"),
            new OrleansException("Forwarding failed", new SocketException((int)SocketError.ConnectionRefused)),
            new OrleansException("flush", new OperationCanceledException("Flush canceled while writing frame.")),
            new OrleansException("read", new IOException("broken pipe", new TimeoutException())),
            new OrleansException("storage", new NpgsqlException("the server closed the connection", new IOException())),
        ];

        Assert.All(causes, cause => Assert.Equal(StatusCode.Unavailable, ErrorStatus.Expected(cause, CancellationToken.None)?.Status));
    }

    [Fact]
    public void The_cluster_errors_that_were_already_retryable_keep_their_reasons()
    {
        Assert.Equal((StatusCode.Unavailable, "the cluster node holding the record is leaving or gone: retry"),
            ErrorStatus.Expected(new SiloUnavailableException(), CancellationToken.None));
        Assert.Equal((StatusCode.Unavailable, "the cluster node holding the record is leaving or gone: retry"),
            ErrorStatus.Expected(new ConnectionFailedException("There are no available gateways."), CancellationToken.None));
        Assert.Equal((StatusCode.Unavailable, "the database did not answer: retry"),
            ErrorStatus.Expected(new OrleansException("storage", new NpgsqlException("gone", new SocketException())), CancellationToken.None));
    }

    [Fact]
    public void A_call_the_cluster_gave_up_on_is_unavailable_and_one_the_client_abandoned_is_cancelled()
    {
        // Seen after a silo kill: the silo could not place the grain before the message expired.
        var expired = new OperationCanceledException("Message expired before placement could complete for grain enrolltoken/43c15f7d.");
        using var abandoned = new CancellationTokenSource();
        abandoned.Cancel();

        Assert.Equal((StatusCode.Unavailable, "the cluster did not answer in time (a node may have just left): retry"),
            ErrorStatus.Expected(expired, CancellationToken.None));
        Assert.Equal((StatusCode.Cancelled, "the client abandoned the call"), ErrorStatus.Expected(expired, abandoned.Token));
    }

    [Fact]
    public void An_orleans_error_carrying_a_bug_of_ours_or_of_our_sql_stays_internal()
    {
        Exception[] bugs =
        [
            // Storage wraps what our SQL threw: a syntax error is not something a retry fixes.
            new OrleansException("Error from storage provider", new SqliteException("SQLite Error 1: 'near \"SELEC\": syntax error'.", 1)),
            new OrleansException("Error from storage provider", new InvalidOperationException("Sequence contains no elements")),
            new WrappedException("System.NullReferenceException: Object reference not set to an instance of an object."),
            new Orleans.Storage.BadProviderConfigException("no storage provider named Default"),
            new Orleans.Runtime.GrainExtensionNotInstalledException("not installed"),
            new InvalidOperationException("a bug"),
        ];

        Assert.All(bugs, bug =>
        {
            Assert.Null(ErrorStatus.Expected(bug, CancellationToken.None));
            Assert.Equal(StatusCode.Internal, ErrorStatus.ToRpc(bug, CancellationToken.None).StatusCode);
            Assert.Equal(ErrorStatus.InternalMessage, ErrorStatus.ToRpc(bug, CancellationToken.None).Status.Detail);
        });
    }
}
