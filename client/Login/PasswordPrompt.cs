using System.Text;

namespace DeviceTrust.Client.Login;

/// <summary>
/// Reads a password: from the terminal without echo, or one line of standard input when it is not a terminal
/// (scripts and tests).
/// </summary>
public static class PasswordPrompt
{
    public static string Read(string prompt)
    {
        if (Console.IsInputRedirected)
        {
            return Console.In.ReadLine() ?? throw new IOException("no password on standard input");
        }
        Console.Error.Write(prompt);
        var password = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                break;
            }
            if (key.Key == ConsoleKey.Backspace)
            {
                if (password.Length > 0)
                {
                    password.Length--;
                }
                continue;
            }
            if (!char.IsControl(key.KeyChar))
            {
                password.Append(key.KeyChar);
            }
        }
        Console.Error.WriteLine();
        return password.ToString();
    }

    /// <summary>A new password, asked twice on a terminal.</summary>
    public static string ReadNew(string prompt)
    {
        var first = Read(prompt);
        if (Console.IsInputRedirected)
        {
            return first;
        }
        var second = Read("Confirm the password: ");
        return first == second ? first : throw new IOException("the passwords do not match");
    }
}
