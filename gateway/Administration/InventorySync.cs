using System.Text.RegularExpressions;
using DeviceTrust.Core.Audit;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Core.Roles;
using DeviceTrust.Gateway.Audit;
using DeviceTrust.Gateway.Authentication;
using DeviceTrust.Gateway.Ceremonies;
using DeviceTrust.Gateway.Errors;
using DeviceTrust.Gateway.Policy;
using DeviceTrust.Gateway.Services;
using DeviceTrust.Grains;
using DeviceTrust.Grains.Config;
using DeviceTrust.Grains.Inventory;
using DeviceTrust.Grains.ReadModels;
using DeviceTrust.Proto.V1;
using Grpc.Core;
using DeviceProfile = DeviceTrust.Core.Devices.DeviceProfile;
using DeviceSource = DeviceTrust.Core.Devices.DeviceSource;

namespace DeviceTrust.Gateway.Administration;

/// <summary>
/// <c>SyncInventory</c>: the inventory in step with an MDM. Each devices message is read, checked and answered in
/// turn (one indexed query for the devices it names, one transaction for those it adds, a grain update for each it
/// changes, their audit events committed before the answer); nothing is ever deleted but the exact list of missing
/// devices the caller confirmed, after the whole export was read.
/// </summary>
public sealed partial class InventorySync(
    IGrainFactory grains,
    IDeviceInventory inventory,
    IDeviceImport import,
    DeviceAdministration administration,
    IdentityCache identities,
    AuditRecorder recorder,
    TimeProvider time)
{
    public const int MaxDevices = MdmInventory.MaxDevices;

    /// <summary>More missing devices than this are reported but not offered for deletion: an export that lost so many is to be checked first.</summary>
    public const int MaxMissingListed = 20_000;

    /// <summary>How long the call waits for the caller to confirm (or decline) the missing list.</summary>
    public static readonly TimeSpan ConfirmTimeout = TimeSpan.FromMinutes(10);

    /// <summary>How long the call waits for the caller's next message before then: a stream nobody writes to is not held open.</summary>
    public static readonly TimeSpan MessageTimeout = TimeSpan.FromMinutes(2);

    private const int Parallelism = 16;

    private sealed class Run(Caller caller, ServerCallContext context, DeviceSource source, string sourceName, bool dryRun, ClusterConfigView config,
        DateTimeOffset started)
    {
        public DateTimeOffset Started { get; } = started;
        public Caller Caller { get; } = caller;
        public ServerCallContext Context { get; } = context;
        public DeviceSource Source { get; } = source;
        public string SourceName { get; } = sourceName;
        public bool DryRun { get; } = dryRun;
        public ClusterConfigView Config { get; } = config;

        /// <summary>Every (OS, serial) the MDM named, and where (its index, from 1).</summary>
        public Dictionary<string, int> Named { get; } = new(StringComparer.Ordinal);
        public SyncInventorySummary Summary { get; } = new() { DryRun = dryRun };

        /// <summary>Devices this sync made the source's (created, or taken over from another source): not the source's before it.</summary>
        public HashSet<Guid> Joined { get; } = [];
        public int Received { get; set; }

        /// <summary>The device is this sync's source's already (kind and instance).</summary>
        public bool Owns(DeviceRecord device) => device.Source == Source && device.SourceName == SourceName;

        /// <summary>What the sync would change on the device: its profile's fields, and "source" when another source had it.</summary>
        public List<string> Changes(DeviceRecord device, DeviceProfile synced)
        {
            var changed = DeviceProfile.Differences(device.Profile, synced).ToList();
            if (!Owns(device))
            {
                changed.Add("source");
            }
            return changed;
        }
    }

    public async Task RunAsync(IAsyncStreamReader<SyncInventoryRequest> requests, IServerStreamWriter<SyncInventoryResponse> responses, ServerCallContext context)
    {
        var caller = Caller.Of(context);
        var audit = context.Audit();
        var call = context.CancellationToken;
        if (!await NextAsync(requests, MessageTimeout, "the start message", call) || requests.Current.PayloadCase != SyncInventoryRequest.PayloadOneofCase.Start)
        {
            throw DeviceTrustException.InvalidArgument("the first message must be start");
        }
        var start = requests.Current.Start;
        var source = start.Source switch
        {
            Proto.V1.DeviceSource.Jamf => DeviceSource.Jamf,
            Proto.V1.DeviceSource.Intune => DeviceSource.Intune,
            _ => throw DeviceTrustException.InvalidArgument("start.source must be JAMF or INTUNE"),
        };
        var name = start.SourceName.Length == 0 ? source.ToString().ToLowerInvariant() : start.SourceName;
        if (!SourceNamePattern().IsMatch(name))
        {
            throw DeviceTrustException.InvalidArgument("start.source_name: 1 to 64 of a-z, 0-9, '.', '_' and '-'");
        }
        audit.Target = name;
        audit.Detail("source", source.ToString().ToLowerInvariant()).Detail("source_name", name).Detail("dry_run", start.DryRun)
            .Detail("track_missing", start.TrackMissing);
        // [Requires] checked "device: create"; a sync changes devices too.
        if (!await identities.AllowsAsync(caller.User, Resources.Device, "update"))
        {
            throw GatewayInterceptor.Denied(caller.User, Resources.Device, "update");
        }
        var config = await grains.GetGrain<IClusterConfigGrain>(GrainKeys.Cluster).GetAsync();
        var run = new Run(caller, context, source, name, start.DryRun, config, time.GetUtcNow());

        var ended = false;
        while (!ended && await NextAsync(requests, MessageTimeout, "the next devices or end message", call))
        {
            var message = requests.Current;
            switch (message.PayloadCase)
            {
                case SyncInventoryRequest.PayloadOneofCase.Devices:
                    var results = await SyncBatchAsync(run, message.Devices);
                    var answer = new SyncInventoryResults();
                    answer.Results.AddRange(results);
                    await responses.WriteAsync(new SyncInventoryResponse { Results = answer }, call);
                    break;
                case SyncInventoryRequest.PayloadOneofCase.End:
                    ended = true;
                    break;
                default:
                    throw DeviceTrustException.InvalidArgument($"{message.PayloadCase} before end: send start, devices…, end");
            }
        }
        if (!ended)
        {
            throw DeviceTrustException.InvalidArgument("the sync ended before its end message: what was sent is synced, nothing was looked for as missing");
        }

        var summary = run.Summary;
        // Counted before the missing step too: a refused confirmation's event still says what the batches changed.
        void Count() => audit.Detail("created", summary.Created).Detail("updated", summary.Updated).Detail("unchanged", summary.Unchanged)
            .Detail("failed", summary.Failed).Detail("unenrolled", summary.Unenrolled).Detail("missing", summary.Missing).Detail("deleted", summary.Deleted);
        Count();
        if (start.TrackMissing)
        {
            await MissingAsync(run, requests, responses);
        }
        Count();
        audit.Message = $"{(run.DryRun ? "dry run of a sync" : "sync")} from {name} ({source.ToString().ToLowerInvariant()}): {run.Received} devices, "
                        + $"{summary.Created} created, {summary.Updated} updated, {summary.Unchanged} unchanged, {summary.Failed} failed, "
                        + $"{summary.Unenrolled} unenrolled, {summary.Missing} missing, {summary.Deleted} deleted";
        await responses.WriteAsync(new SyncInventoryResponse { Summary = summary }, call);
    }

    private async Task<List<SyncDeviceResult>> SyncBatchAsync(Run run, SyncInventoryDevices batch)
    {
        if (batch.Devices.Count is 0 or > IDeviceImport.MaxDevices)
        {
            throw DeviceTrustException.InvalidArgument($"devices: between 1 and {IDeviceImport.MaxDevices} per message, not {batch.Devices.Count}");
        }
        if (run.Received + batch.Devices.Count > MaxDevices)
        {
            throw DeviceTrustException.InvalidArgument($"a sync holds at most {MaxDevices} devices");
        }
        var now = time.GetUtcNow();
        var results = new List<SyncDeviceResult>(batch.Devices.Count);
        var valid = new List<(SyncDeviceResult Result, OsType Os, string Tag, DeviceProfile Profile)>();
        var failures = new List<AuditEntry>();
        foreach (var item in batch.Devices)
        {
            var result = new SyncDeviceResult { Index = ++run.Received, OsType = item.OsType, SerialNumber = DeviceFields.Clipped(item.SerialNumber) };
            results.Add(result);
            try
            {
                var os = OsTypes.Require(DeviceMapping.FromProto(item.OsType));
                var tag = DeviceFields.AssetTag(item.SerialNumber);
                // Named before its profile is checked: a device the MDM has is never "missing", even when its row is refused.
                if (!run.Named.TryAdd(AssetTags.Key(os, tag), result.Index))
                {
                    throw DeviceTrustException.AlreadyExists($"{tag}/{os.ToText()} is already in this sync (device #{run.Named[AssetTags.Key(os, tag)]})");
                }
                var profile = DeviceMapping.FromProto(item.Profile ?? new Proto.V1.DeviceProfile(), now)!;
                valid.Add((result, os, tag, profile));
            }
            catch (DeviceTrustException e)
            {
                failures.Add(Fail(run, result, Item(run, AuditCodes.DeviceCreate, result), ErrorStatus.Of(e.Kind), e.Message.Replace("asset_tag", "serial_number", StringComparison.Ordinal)));
            }
        }

        var existing = (await inventory.WithAssetTagsAsync(valid.Select(v => v.Tag).Distinct(StringComparer.Ordinal).ToList(), run.Context.CancellationToken))
            .ToDictionary(d => d.AssetTagKey, StringComparer.Ordinal);
        var creates = new List<(SyncDeviceResult Result, NewDevice Device)>();
        var updates = new List<(SyncDeviceResult Result, DeviceRecord Device, DeviceProfile Profile, IReadOnlyList<string> Changed)>();
        foreach (var (result, os, tag, profile) in valid)
        {
            if (!existing.TryGetValue(AssetTags.Key(os, tag), out var device))
            {
                creates.Add((result, new NewDevice(os, tag) { Profile = profile, SourceName = run.SourceName }));
                continue;
            }
            result.DeviceId = device.Id.ToString();
            var changed = run.Changes(device, profile);
            if (changed.Count == 0)
            {
                result.Outcome = SyncOutcome.Unchanged;
                run.Summary.Unchanged++;
                continue;
            }
            updates.Add((result, device, profile, changed));
        }

        if (run.DryRun)
        {
            foreach (var (result, _) in creates)
            {
                result.Outcome = SyncOutcome.Created;
                run.Summary.Created++;
            }
            foreach (var (result, device, profile, changed) in updates)
            {
                Updated(run, result, changed, device.UnenrolledBySync(profile, run.Config.DeviceTrust.UnenrollOnMdmOwnerChange));
            }
            return results;
        }

        var events = new List<AuditEntry>(failures);
        if (creates.Count > 0)
        {
            await CreateAsync(run, creates, updates, events);
        }
        await Parallel.ForEachAsync(updates, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = CancellationToken.None },
            async (update, _) =>
            {
                var entry = await UpdateAsync(run, update.Result, update.Device, update.Profile, update.Changed);
                lock (events)
                {
                    events.Add(entry);
                }
            });
        // Committed before the answer: nothing this message changed is reported without its event.
        await recorder.WriteAllAsync(events);
        return results;
    }

    private async Task CreateAsync(Run run, List<(SyncDeviceResult Result, NewDevice Device)> creates,
        List<(SyncDeviceResult Result, DeviceRecord Device, DeviceProfile Profile, IReadOnlyList<string> Changed)> updates, List<AuditEntry> events)
    {
        var byKey = creates.ToDictionary(c => AssetTags.Key(c.Device.OsType, c.Device.AssetTag), c => c.Result, StringComparer.Ordinal);
        var outcomes = await import.CreateAsync(creates.Select(c => c.Device).ToList(), run.Source, run.Caller.Name,
            device => CreatedEvent(run, byKey[device.AssetTagKey], device), run.Context.CancellationToken);
        for (var i = 0; i < creates.Count; i++)
        {
            var (result, device) = creates[i];
            switch (outcomes[i].Result)
            {
                case ImportResult.Created:
                    result.DeviceId = outcomes[i].DeviceId.ToString();
                    result.Outcome = SyncOutcome.Created;
                    run.Summary.Created++;
                    run.Joined.Add(outcomes[i].DeviceId);
                    break;
                case ImportResult.AlreadyExists when await grains.GetGrain<IDeviceGrain>(outcomes[i].DeviceId).GetAsync() is { } holder:
                    // Added by someone else since this message was read: it is updated like any device the inventory had.
                    result.DeviceId = holder.Id.ToString();
                    updates.Add((result, holder, device.Profile!, run.Changes(holder, device.Profile!)));
                    break;
                default:
                    events.Add(Fail(run, result, Item(run, AuditCodes.DeviceCreate, result), StatusCode.Aborted,
                        $"{device.AssetTag}/{device.OsType.ToText()} was being added or removed at the same time: sync again"));
                    break;
            }
        }
    }

    private AuditEntry CreatedEvent(Run run, SyncDeviceResult result, DeviceRecord device)
    {
        var record = Item(run, AuditCodes.DeviceCreate, result);
        record.Describe(device);
        return recorder.Entry(record, true, "", $"device {device.AssetTag}/{device.OsType.ToText()} added to the inventory by a sync from {run.SourceName}");
    }

    private async Task<AuditEntry> UpdateAsync(Run run, SyncDeviceResult result, DeviceRecord device, DeviceProfile profile, IReadOnlyList<string> changed)
    {
        var record = Item(run, AuditCodes.DeviceUpdate, result);
        var update = new DeviceUpdate(false, profile, [], [], null)
        {
            Sync = new MdmSyncUpdate(run.Source, run.SourceName, run.Config.DeviceTrust.UnenrollOnMdmOwnerChange),
        };
        try
        {
            var after = await administration.UpdateAsync(record, device.Id, update);
            var unenrolled = device.EnrollStatus == EnrollStatus.Enrolled && after.EnrollStatus == EnrollStatus.NotEnrolled;
            Updated(run, result, changed, unenrolled);
            if (!run.Owns(device))
            {
                lock (run.Summary)
                {
                    run.Joined.Add(device.Id);
                }
            }
            record.Change("source", $"{device.Source.ToString().ToLowerInvariant()}/{device.SourceName}", $"{after.Source.ToString().ToLowerInvariant()}/{after.SourceName}");
            var message = $"device {after.AssetTag}/{after.OsType.ToText()} updated by a sync from {run.SourceName}: {string.Join(", ", changed)}";
            if (unenrolled)
            {
                message += $"; unenrolled: the MDM assigns it to {profile.AssignedUser} now, not {device.Profile?.AssignedUser}";
            }
            return recorder.Entry(record, true, "", message);
        }
        catch (Exception e) when (ErrorStatus.Expected(e, CancellationToken.None) is { } expected)
        {
            return Fail(run, result, record, expected.Status, expected.Reason);
        }
    }

    /// <summary>Updates run side by side (<see cref="Parallelism"/>): the summary is counted under its lock.</summary>
    private static void Updated(Run run, SyncDeviceResult result, IReadOnlyList<string> changed, bool unenrolled)
    {
        result.Outcome = SyncOutcome.Updated;
        result.Changed.AddRange(changed);
        result.Unenrolled = unenrolled;
        lock (run.Summary)
        {
            run.Summary.Updated++;
            run.Summary.Unenrolled += unenrolled ? 1 : 0;
        }
    }

    /// <summary>The devices of this source the MDM did not name; deleted only if the caller confirms exactly them.</summary>
    private async Task MissingAsync(Run run, IAsyncStreamReader<SyncInventoryRequest> requests, IServerStreamWriter<SyncInventoryResponse> responses)
    {
        var call = run.Context.CancellationToken;
        var ofSource = await inventory.FromSourceAsync(run.Source, run.SourceName, call);
        var missing = ofSource.Where(d => !run.Named.ContainsKey(d.AssetTagKey)).ToList();
        run.Summary.Missing = missing.Count;
        var percent = run.Config.DeviceTrust.SyncConfirmTwicePercent;
        // Before the sync: the devices it created or took over were not the source's yet (a dry run changed nothing).
        var before = ofSource.Count(d => !run.Joined.Contains(d.Id));
        var answer = new SyncInventoryMissing
        {
            SourceDevices = before,
            ConfirmTwice = missing.Count * 100L > percent * (long)Math.Max(before, 1),
            ConfirmTwicePercent = percent,
            Missing = missing.Count,
        };
        answer.Devices.AddRange(missing.Take(MaxMissingListed).Select(Slim));
        await responses.WriteAsync(new SyncInventoryResponse { Missing = answer }, call);
        if (missing.Count == 0 || run.DryRun || missing.Count > MaxMissingListed)
        {
            return;
        }

        if (!await NextAsync(requests, ConfirmTimeout, "the confirmation (nothing was deleted)", call))
        {
            // The caller declined: the missing devices stay.
            return;
        }
        if (requests.Current.PayloadCase != SyncInventoryRequest.PayloadOneofCase.Confirm)
        {
            throw DeviceTrustException.InvalidArgument($"after the missing list only confirm (or the end of the call) may come, not {requests.Current.PayloadCase}: nothing was deleted");
        }
        var confirm = requests.Current.Confirm;
        var wanted = missing.Select(d => d.Id.ToString()).ToHashSet(StringComparer.Ordinal);
        var named = confirm.DeviceIds.ToHashSet(StringComparer.Ordinal);
        if (named.Count != confirm.DeviceIds.Count || !named.SetEquals(wanted))
        {
            throw DeviceTrustException.FailedPrecondition(
                $"the confirmation names {confirm.DeviceIds.Count} device(s), not exactly the {missing.Count} missing ones: nothing was deleted");
        }
        if (answer.ConfirmTwice && !confirm.ConfirmedTwice)
        {
            throw DeviceTrustException.FailedPrecondition(
                $"deleting {missing.Count} of the {before} devices from {run.SourceName} is more than {percent}% (sync-confirm-twice-percent): confirm twice; nothing was deleted");
        }
        if (!await identities.AllowsAsync(run.Caller.User, Resources.Device, "delete"))
        {
            throw GatewayInterceptor.Denied(run.Caller.User, Resources.Device, "delete");
        }

        var events = new List<AuditEntry>();
        await Parallel.ForEachAsync(missing, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = CancellationToken.None },
            async (device, _) =>
            {
                var record = recorder.Begin(AuditCodes.DeviceDelete, run.Context, run.Caller).Detail("sync", run.SourceName);
                record.Describe(device);
                AuditEntry entry;
                try
                {
                    // Another sync or an administrator may have changed it since it was listed: then it is not this sync's to remove.
                    var now = await grains.GetGrain<IDeviceGrain>(device.Id).GetAsync();
                    if (now is null || !run.Owns(now) || now.UpdateTime > run.Started)
                    {
                        throw DeviceTrustException.Aborted(now is null
                            ? $"device {device.AssetTag}/{device.OsType.ToText()} is already gone"
                            : $"device {device.AssetTag}/{device.OsType.ToText()} changed after this sync listed it missing: not deleted");
                    }
                    var removed = await administration.DeleteAsync(record, device.Id);
                    entry = recorder.Entry(record, true, "", $"device {removed.AssetTag}/{removed.OsType.ToText()} removed: {run.SourceName} no longer has it (confirmed)");
                    lock (run.Summary)
                    {
                        run.Summary.Deleted++;
                    }
                }
                catch (Exception e) when (ErrorStatus.Expected(e, CancellationToken.None) is { } expected)
                {
                    entry = recorder.Entry(record, false, expected.Status.ToString(), expected.Reason);
                }
                lock (events)
                {
                    events.Add(entry);
                }
            });
        await recorder.WriteAllAsync(events);
    }

    /// <summary>The caller's next message, or false at the end of its stream; a DeadlineExceeded after <paramref name="timeout"/> of silence.</summary>
    private static async Task<bool> NextAsync(IAsyncStreamReader<SyncInventoryRequest> requests, TimeSpan timeout, string what, CancellationToken call)
    {
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(call);
        waiting.CancelAfter(timeout);
        try
        {
            return await requests.MoveNext(waiting.Token);
        }
        catch (OperationCanceledException) when (!call.IsCancellationRequested)
        {
            throw new CeremonyTimeoutException($"no message for {timeout.TotalMinutes:F0} minutes: waited for {what}");
        }
    }

    private static Proto.V1.Device Slim(DeviceRecord device) => new()
    {
        Id = device.Id.ToString(),
        OsType = DeviceMapping.ToProto(device.OsType),
        AssetTag = device.AssetTag,
        EnrollStatus = device.EnrollStatus == EnrollStatus.Enrolled ? DeviceEnrollStatus.Enrolled : DeviceEnrollStatus.NotEnrolled,
        Owner = device.Owner,
        SourceName = device.SourceName,
    };

    private AuditRecord Item(Run run, string type, SyncDeviceResult result)
    {
        var record = recorder.Begin(type, run.Context, run.Caller).Detail("sync", run.SourceName).Detail("sync_item", result.Index);
        record.AssetTag = result.SerialNumber;
        record.OsType = result.OsType is OSType.Linux or OSType.Macos or OSType.Windows ? DeviceMapping.FromProto(result.OsType).ToText() : "";
        return record;
    }

    private AuditEntry Fail(Run run, SyncDeviceResult result, AuditRecord record, StatusCode status, string reason)
    {
        result.Outcome = SyncOutcome.Failed;
        result.Code = (int)status;
        result.Message = reason;
        lock (run.Summary)
        {
            run.Summary.Failed++;
        }
        return recorder.Entry(record, false, status.ToString(), reason);
    }

    [GeneratedRegex("^[a-z0-9._-]{1,64}$")]
    private static partial Regex SourceNamePattern();
}
