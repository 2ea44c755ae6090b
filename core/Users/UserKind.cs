namespace DeviceTrust.Core.Users;

/// <summary>Humans log in with passwords at devices; bots are machines (exempt from the mode <c>required-for-humans</c>).</summary>
public enum UserKind
{
    Human = 0,
    Bot = 1,
}
