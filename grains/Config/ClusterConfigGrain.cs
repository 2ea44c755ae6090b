using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Core.Config;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;
using DeviceTrust.Grains.Attestation;

namespace DeviceTrust.Grains.Config;

public sealed class ClusterConfigState
{
    public long Version { get; set; }
    public string Mode { get; set; } = DeviceTrustMode.Optional.ToText();
    public bool AutoEnroll { get; set; }
    public List<string> EkCertAllowedCas { get; set; } = [];
    public string MinAttestation { get; set; } = "unspecified";
    public bool AllowSha1Signatures { get; set; }
    public Dictionary<string, string> MinOsVersions { get; set; } = new(StringComparer.Ordinal);
    public string QuotePcrs { get; set; } = "";
    public string BootPolicy { get; set; } = "";
    public bool Bootstrapped { get; set; }
    public bool UnenrollOnMdmOwnerChange { get; set; } = true;
    public int SyncConfirmTwicePercent { get; set; } = DeviceTrustSettings.DefaultSyncConfirmTwicePercent;
}

public sealed class ClusterConfigGrain(
    [PersistentState(StateNames.ClusterConfig, StateNames.Storage)] IPersistentState<ClusterConfigState> state) : Grain, IClusterConfigGrain
{
    public const string Key = GrainKeys.Cluster;

    public Task<ClusterConfigView> GetAsync() => Task.FromResult(View());

    public async Task<ConfigChange> UpdateDeviceTrustAsync(DeviceTrustUpdate update)
    {
        var before = View();
        // every value is validated before any is written: a request with one bad value changes nothing
        var newMode = update.Mode is null ? null : DeviceTrustModes.ParseClusterMode(update.Mode).ToText();
        var newCas = update.EkCertAllowedCas?.Select(ValidateCa).ToList();
        var newMinimum = update.MinAttestation is null ? null : AttestationPolicy.ParseMinimum(update.MinAttestation).ToText();
        var newOsVersions = update.MinOsVersions is null ? null : MergeOsVersions(state.State.MinOsVersions, update.MinOsVersions);
        var newQuotePcrs = update.QuotePcrs is null ? null : QuotePcrs(update.QuotePcrs);
        var newBootPolicy = update.BootPolicy;
        if (newBootPolicy is { Length: > 0 })
        {
            BootPolicyYaml.Parse(newBootPolicy);
        }
        if (update.SyncConfirmTwicePercent is < 1 or > 100)
        {
            throw DeviceTrustException.InvalidArgument($"sync-confirm-twice-percent must be between 1 and 100, not {update.SyncConfirmTwicePercent}");
        }
        if (newMode is null && update.AutoEnroll is null && newCas is null && newMinimum is null && update.AllowSha1Signatures is null
            && newOsVersions is null && newQuotePcrs is null && newBootPolicy is null && update.UnenrollOnMdmOwnerChange is null
            && update.SyncConfirmTwicePercent is null)
        {
            return new ConfigChange(before, before);
        }
        state.State.Mode = newMode ?? state.State.Mode;
        state.State.AutoEnroll = update.AutoEnroll ?? state.State.AutoEnroll;
        state.State.EkCertAllowedCas = newCas ?? state.State.EkCertAllowedCas;
        state.State.MinAttestation = newMinimum ?? state.State.MinAttestation;
        state.State.AllowSha1Signatures = update.AllowSha1Signatures ?? state.State.AllowSha1Signatures;
        state.State.MinOsVersions = newOsVersions ?? state.State.MinOsVersions;
        state.State.QuotePcrs = newQuotePcrs ?? state.State.QuotePcrs;
        state.State.BootPolicy = newBootPolicy ?? state.State.BootPolicy;
        state.State.UnenrollOnMdmOwnerChange = update.UnenrollOnMdmOwnerChange ?? state.State.UnenrollOnMdmOwnerChange;
        state.State.SyncConfirmTwicePercent = update.SyncConfirmTwicePercent ?? state.State.SyncConfirmTwicePercent;
        state.State.Version++;
        await state.WriteOrDeactivateAsync(DeactivateOnIdle);
        return new ConfigChange(before, View());
    }

    private static Dictionary<string, string> MergeOsVersions(Dictionary<string, string> current, IReadOnlyDictionary<string, string> changes)
    {
        var merged = new Dictionary<string, string>(current, StringComparer.Ordinal);
        foreach (var (os, version) in changes)
        {
            var key = MinimumOsVersions.Key(os);
            if (version.Length == 0 || version == "none")
            {
                merged.Remove(key);
            }
            else
            {
                merged[key] = MinimumOsVersions.Version(version);
            }
        }
        return merged.Count <= MinimumOsVersions.MaxEntries
            ? merged
            : throw DeviceTrustException.InvalidArgument($"at most {MinimumOsVersions.MaxEntries} minimum OS versions");
    }

    /// <summary>The stored spelling of the quoted PCR set ("" or default: SHA-256 PCRs 0–7).</summary>
    private static string QuotePcrs(string spec)
    {
        if (spec.Length == 0 || spec == "default")
        {
            return "";
        }
        try
        {
            return Tpm.Verification.QuotePolicy.Spec(Tpm.Verification.QuotePolicy.ParseBanks(spec));
        }
        catch (Tpm.Codec.TpmFormatException e)
        {
            throw DeviceTrustException.InvalidArgument($"quote-pcrs \"{(spec.Length > 60 ? spec[..60] + "…" : spec)}\": {e.Message}");
        }
    }

    private static string ValidateCa(string pem)
    {
        try
        {
            using var certificate = X509Certificate2.CreateFromPem(pem);
            return certificate.ExportCertificatePem();
        }
        catch (CryptographicException e)
        {
            throw DeviceTrustException.InvalidArgument($"an EK CA is not a PEM certificate: {e.Message}");
        }
    }

    public async Task<bool> MarkBootstrappedAsync()
    {
        if (state.State.Bootstrapped)
        {
            return false;
        }
        state.State.Bootstrapped = true;
        state.State.Version++;
        await state.WriteOrDeactivateAsync(DeactivateOnIdle);
        return true;
    }

    private ClusterConfigView View() =>
        new(state.State.Version, new DeviceTrustSettings(state.State.Mode, state.State.AutoEnroll, state.State.EkCertAllowedCas.ToList(), state.State.MinAttestation,
            state.State.AllowSha1Signatures)
        {
            MinOsVersions = state.State.MinOsVersions.OrderBy(v => v.Key, StringComparer.Ordinal).ToDictionary(StringComparer.Ordinal),
            QuotePcrs = state.State.QuotePcrs,
            BootPolicy = state.State.BootPolicy,
            UnenrollOnMdmOwnerChange = state.State.UnenrollOnMdmOwnerChange,
            SyncConfirmTwicePercent = state.State.SyncConfirmTwicePercent,
        },
            state.State.Bootstrapped);
}
