using DeviceTrust.Core.Errors;

namespace DeviceTrust.Client.Profiles;

/// <summary>The logged-in profile for commands that need one, with errors that say what to do.</summary>
public static class CurrentProfile
{
    public static Profile Require(ProfileStore store)
    {
        var profile = store.Load() ?? throw DeviceTrustException.Unauthenticated("not logged in: run dtsh login --proxy HOST:PORT --user NAME");
        if (profile.IsExpired(DateTimeOffset.UtcNow))
        {
            throw DeviceTrustException.Unauthenticated($"your certificate expired at {profile.ValidUntil:u}: run dtsh login");
        }
        return profile;
    }
}
