namespace DeviceTrust.Grains;

internal static class StateWrites
{
    /// <summary>
    /// Writes the state; if the write fails, the activation is dropped so the next call reloads what is really
    /// stored, instead of serving memory that is ahead of the database.
    /// </summary>
    public static async Task WriteOrDeactivateAsync<T>(this IPersistentState<T> state, Action deactivate)
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            deactivate();
            throw;
        }
    }
}
