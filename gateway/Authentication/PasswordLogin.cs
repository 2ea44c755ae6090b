using System.Net;
using System.Text;
using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Passwords;
using DeviceTrust.Core.Users;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Hosting;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Grains.Users;
using Grpc.Core;

namespace DeviceTrust.Gateway.Authentication;

/// <summary>
/// The one password check, for dtsh's Login RPC and the web console alike: rate limited per source address and per
/// user name before it costs anything, hashed on the bounded <see cref="PasswordWork"/> pool, with the growing delay
/// after wrong passwords (<see cref="ILoginGuardGrain"/>) and the lock check, each refusal recorded with its reason.
/// </summary>
public sealed class PasswordLogin(
    IGrainFactory grains,
    PasswordWork passwords,
    RateLimits limits,
    AuditRecorder audit,
    IdentityCache identities,
    TimeProvider time,
    ILogger<PasswordLogin> log)
{
    public const string BadCredentials = "invalid user name or password";

    /// <summary>
    /// The user whose password this is. Throws Unauthenticated (one sentence for every wrong name or password),
    /// ResourceExhausted (a rate limit, a busy pool, a login delay) or PermissionDenied (a lock); a wrong password is
    /// recorded on <paramref name="record"/> with the real reason before it throws.
    /// </summary>
    public async Task<UserView> VerifyAsync(AuditRecord record, IPAddress? peer, string user, string password)
    {
        var source = ClientAddress.LimitKey(peer);
        var printable = UserName.Printable(user);
        using var slot = Admit(source, user);
        if (Encoding.UTF8.GetByteCount(password) > PasswordPolicy.MaxBytes)
        {
            throw DeviceTrustException.Unauthenticated(BadCredentials);
        }
        // Names that can never be users are checked like the others (same KDF work), but have no delay to track.
        var guard = UserName.IsValid(user) ? grains.GetGrain<ILoginGuardGrain>(user) : null;
        if (guard is not null)
        {
            await guard.EnsureAllowedAsync(source);
        }
        var login = guard is null ? null : await grains.GetGrain<IUserGrain>(user).GetLoginRecordAsync();
        // The same KDF work whether or not the user exists, so timing does not reveal user names.
        var verified = await slot.VerifyAsync(password, login?.PasswordHash);
        if (!verified || login is null)
        {
            log.LogWarning("Failed login for user {User} from {Peer}", printable, record.ClientIp);
            var delay = guard is null ? null : await guard.RecordFailureAsync(source);
            await record.FailedAsync(login is null ? "no such user" : login.PasswordHash is null ? "the user has no password yet" : "wrong password",
                StatusCode.Unauthenticated);
            if (delay is not null)
            {
                await audit.Follow(record, AuditCodes.UserLoginDelay, printable).Detail("failures", delay.Failures)
                    .Detail("delay_seconds", delay.Delay.TotalSeconds)
                    .FailedAsync($"{delay.Failures} failed logins in a row for {printable} from {record.ClientIp}: " +
                                 $"the next attempt from there must wait {delay.Delay.TotalSeconds:F0} s", StatusCode.ResourceExhausted);
            }
            throw DeviceTrustException.Unauthenticated(BadCredentials);
        }
        await EnsureNotLockedAsync(login.User);
        if (await guard!.RecordSuccessAsync(source) is { } cleared)
        {
            await audit.Follow(record, AuditCodes.UserLoginDelayReset, login.User.Name, login.User.Id.ToString())
                .Detail("failures", cleared.Failures)
                .SucceededAsync($"the login delay for {login.User.Name} from {record.ClientIp} ended with a correct password after {cleared.Failures} failures");
        }
        return login.User;
    }

    /// <summary>A locked user (or one holding a locked role) gets no certificate and no session; told only after the password checked out.</summary>
    public async Task EnsureNotLockedAsync(UserView user)
    {
        if ((await identities.LocksAsync()).Against(user.Id.ToString(), user.Roles, null, time.GetUtcNow()) is [var first, ..])
        {
            throw DeviceTrustException.PermissionDenied(first.Reason);
        }
    }

    /// <summary>
    /// What every password attempt passes before it may cost a hash: the bucket of its source address,
    /// a place in the password pool, then the bucket of the name it names. The pool comes before the name's bucket, so
    /// an attempt refused only because the pool is busy does not use up that user's attempts (dtsh retries it).
    /// </summary>
    private PasswordSlot Admit(string source, string user)
    {
        limits.Admit(nameof(RateLimitsOptions.LoginPerAddress), source, "login attempts from your address");
        var slot = passwords.Reserve();
        try
        {
            limits.Admit(nameof(RateLimitsOptions.LoginPerUser), UserName.Printable(user), "login attempts for this user");
            return slot;
        }
        catch
        {
            slot.Dispose();
            throw;
        }
    }
}
