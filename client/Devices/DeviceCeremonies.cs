using System.Security.Cryptography;
using DeviceTrust.Core.Errors;
using DeviceTrust.Proto.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;

namespace DeviceTrust.Client.Devices;

/// <summary>The device side of the two ceremonies for key devices: answer the challenge with the device key.</summary>
public static class DeviceCeremonies
{
    /// <param name="token">The enrollment token, or null to auto-enroll.</param>
    public static async Task<Device> EnrollAsync(GrpcChannel channel, string? token, string credentialId, ECDsa key, DeviceCollectedData data,
        CancellationToken cancellationToken)
    {
        using var call = new DeviceTrustService.DeviceTrustServiceClient(channel).EnrollDevice(cancellationToken: cancellationToken);
        await call.RequestStream.WriteAsync(new EnrollDeviceRequest
        {
            Init = new EnrollDeviceInit
            {
                // No token: auto-enrollment (the gateway checks the data against the device's MDM profile).
                Token = token ?? "",
                AutoEnroll = token is null,
                CredentialId = credentialId,
                DeviceData = data,
                Key = new KeyEnrollPayload { PublicKeyDer = ByteString.CopyFrom(key.ExportSubjectPublicKeyInfo()) },
            },
        }, cancellationToken);
        var challenge = await NextAsync(call.ResponseStream, cancellationToken);
        if (challenge.PayloadCase != EnrollDeviceResponse.PayloadOneofCase.KeyChallenge)
        {
            throw DeviceTrustException.FailedPrecondition($"the gateway sent {challenge.PayloadCase} instead of a key challenge");
        }
        await call.RequestStream.WriteAsync(new EnrollDeviceRequest
        {
            KeyChallengeResponse = new KeyChallengeResponse { Signature = ByteString.CopyFrom(Core.Devices.KeyChallenge.Sign(key, challenge.KeyChallenge.Challenge.ToByteArray())) },
        }, cancellationToken);
        var success = await NextAsync(call.ResponseStream, cancellationToken);
        await call.RequestStream.CompleteAsync();
        return success.Success?.Device ?? throw DeviceTrustException.FailedPrecondition("the gateway did not confirm the enrollment");
    }

    /// <summary>Returns the augmented certificates (same key as the channel's client certificate).</summary>
    public static async Task<UserCertificates> AuthenticateAsync(GrpcChannel channel, string deviceId, string credentialId, ECDsa key, DeviceCollectedData data,
        CancellationToken cancellationToken) =>
        (await AuthenticationAsync(channel, new AuthenticateDeviceInit { CredentialId = credentialId, DeviceData = data, DeviceId = deviceId }, key,
            cancellationToken)).UserCertificates ?? throw DeviceTrustException.FailedPrecondition("the gateway sent no certificate");

    /// <summary>Device web authentication: the same proof, bound to the console's web token; returns the confirmation for the browser.</summary>
    public static async Task<DeviceWebConfirmation> AuthenticateForWebAsync(GrpcChannel channel, string deviceId, string credentialId, ECDsa key,
        DeviceCollectedData data, string webToken, CancellationToken cancellationToken) =>
        (await AuthenticationAsync(channel, new AuthenticateDeviceInit { CredentialId = credentialId, DeviceData = data, DeviceId = deviceId, DeviceWebToken = webToken },
            key, cancellationToken)).WebConfirmation ?? throw DeviceTrustException.FailedPrecondition("the gateway sent no device web confirmation");

    /// <summary>The ceremony: init, the challenge signed with the device key, and the gateway's last answer.</summary>
    private static async Task<AuthenticateDeviceResponse> AuthenticationAsync(GrpcChannel channel, AuthenticateDeviceInit init, ECDsa key,
        CancellationToken cancellationToken)
    {
        using var call = new DeviceTrustService.DeviceTrustServiceClient(channel).AuthenticateDevice(cancellationToken: cancellationToken);
        await call.RequestStream.WriteAsync(new AuthenticateDeviceRequest { Init = init }, cancellationToken);
        var challenge = await NextAsync(call.ResponseStream, cancellationToken);
        if (challenge.PayloadCase != AuthenticateDeviceResponse.PayloadOneofCase.KeyChallenge)
        {
            throw DeviceTrustException.FailedPrecondition($"the gateway sent {challenge.PayloadCase} instead of a key challenge");
        }
        await call.RequestStream.WriteAsync(new AuthenticateDeviceRequest
        {
            KeyChallengeResponse = new KeyChallengeResponse { Signature = ByteString.CopyFrom(Core.Devices.KeyChallenge.Sign(key, challenge.KeyChallenge.Challenge.ToByteArray())) },
        }, cancellationToken);
        var last = await NextAsync(call.ResponseStream, cancellationToken);
        await call.RequestStream.CompleteAsync();
        return last;
    }

    private static async Task<T> NextAsync<T>(IAsyncStreamReader<T> responses, CancellationToken cancellationToken)
    {
        if (!await responses.MoveNext(cancellationToken))
        {
            throw DeviceTrustException.FailedPrecondition("the gateway ended the ceremony early");
        }
        return responses.Current;
    }
}
