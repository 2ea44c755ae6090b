using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using DeviceTrust.Core.Config;
using DeviceTrust.Core.Devices;
using DeviceTrust.Core.Errors;

namespace DeviceTrust.Grains.Config;

public sealed class ClusterConfigState
{
    public long Version { get; set; }
    public string Mode { get; set; } = DeviceTrustMode.Optional.ToText();
    public bool AutoEnroll { get; set; }
    public List<string> EkCertAllowedCas { get; set; } = [];
    public string MinAttestation { get; set; } = "unspecified";
    public bool AllowSha1Signatures { get; set; }
    public bool Bootstrapped { get; set; }
}

public sealed class ClusterConfigGrain(
    [PersistentState(StateNames.ClusterConfig, StateNames.Storage)] IPersistentState<ClusterConfigState> state) : Grain, IClusterConfigGrain
{
    public const string Key = "cluster";

    public Task<ClusterConfigView> GetAsync() => Task.FromResult(View());

    public async Task<ConfigChange> UpdateDeviceTrustAsync(string? mode, bool? autoEnroll, IReadOnlyList<string>? ekCertAllowedCas, string? minimumAttestation,
        bool? allowSha1Signatures = null)
    {
        var before = View();
        var newMode = mode is null ? null : DeviceTrustModes.ParseClusterMode(mode).ToText();
        var newCas = ekCertAllowedCas?.Select(ValidateCa).ToList();
        var newMinimum = minimumAttestation is null ? null : AttestationPolicy.ParseMinimum(minimumAttestation).ToText();
        if (newMode is null && autoEnroll is null && newCas is null && newMinimum is null && allowSha1Signatures is null)
        {
            return new ConfigChange(before, before);
        }
        state.State.Mode = newMode ?? state.State.Mode;
        state.State.AutoEnroll = autoEnroll ?? state.State.AutoEnroll;
        state.State.EkCertAllowedCas = newCas ?? state.State.EkCertAllowedCas;
        state.State.MinAttestation = newMinimum ?? state.State.MinAttestation;
        state.State.AllowSha1Signatures = allowSha1Signatures ?? state.State.AllowSha1Signatures;
        state.State.Version++;
        await state.WriteOrDeactivateAsync(DeactivateOnIdle);
        return new ConfigChange(before, View());
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
            state.State.AllowSha1Signatures),
            state.State.Bootstrapped);
}
