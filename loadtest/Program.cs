using System.CommandLine;
using DeviceTrust.LoadTest;

var root = new RootCommand("DeviceTrust fleet simulator: real clients, real ceremonies, latency percentiles")
{
    LoginScenario.Create(),
    LoginFloodScenario.Create(),
    CeremonyScenario.Create(),
    InventoryScenario.Create(),
    MdmSyncScenario.Create(),
    SeedScenario.Create(),
    StormScenarios.LoginStorm(),
    StormScenarios.EnrollStorm(),
    StormScenarios.AccessFlood(),
    StormScenarios.Mixed(),
    QuoteVerifyBenchmark.Create(),
    AccessAppScenario.Create(),
    DeviceTrust.LoadTest.Benchmarks.BenchCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
