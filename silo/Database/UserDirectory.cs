using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Users;
using DeviceTrust.Grains;
using DeviceTrust.Grains.ReadModels;
using DeviceTrust.Grains.Users;
using DeviceTrust.Silo.Hosting;

namespace DeviceTrust.Silo.Database;

/// <summary>The user rows of the grain state table as views, a page at a time; the page token is the last name of a page.</summary>
public sealed class UserDirectory(DeviceTrustHostOptions options, string serviceId) : IUserDirectory
{
    private readonly GrainStateQuery _states = new(options, serviceId);

    public async Task<Page<UserView>> ListAsync(int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pageSize, IUserDirectory.MaxPageSize);
        if (pageToken.Length > 0 && !UserName.IsValid(pageToken))
        {
            throw DeviceTrustException.InvalidArgument("page_token is not one this server returned");
        }
        var rows = await _states.ListAsync<UserState>(StateNames.User, pageToken, pageSize + 1, cancellationToken);
        var users = rows.Take(pageSize).Select(r => r.State.ToView()).ToList();
        return new(users, rows.Count > pageSize ? rows[pageSize - 1].Key : "");
    }
}
