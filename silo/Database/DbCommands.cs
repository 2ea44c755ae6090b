using System.Data.Common;

namespace DeviceTrust.Silo.Database;

internal static class DbCommands
{
    /// <summary>Adds a named parameter (the same @name syntax works on SQLite and PostgreSQL).</summary>
    public static DbCommand With(this DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
        return command;
    }
}
