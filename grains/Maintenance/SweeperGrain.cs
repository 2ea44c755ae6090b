namespace DeviceTrust.Grains.Maintenance;

public sealed class SweeperGrain(ILeftovers leftovers, TimeProvider time) : Grain, ISweeperGrain, IRemindable
{
    public const string ReminderName = "sweep";

    public async Task StartAsync() =>
        await this.RegisterOrUpdateReminder(ReminderName, dueTime: TimeSpan.FromMinutes(1), period: Sweeping.Interval);

    public async Task<int> SweepAsync()
    {
        var cutoff = time.GetUtcNow() - Sweeping.Retention;
        return await leftovers.RemoveExpiredTokensAsync(cutoff, CancellationToken.None) + await leftovers.RemoveExpiredWebStateAsync(cutoff, CancellationToken.None);
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName == ReminderName)
        {
            await SweepAsync();
        }
    }
}
