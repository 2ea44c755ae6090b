using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace DeviceTrust.EndToEnd.Tests;

/// <summary>
/// What the built gateway depends on: grain interfaces and messages, never the grain classes or their stored state
/// (the compiler records an assembly reference only for an assembly whose types the code uses).
/// </summary>
public sealed class ProjectBoundaryTests
{
    private static List<string> ReferencesOf(string dll)
    {
        using var stream = File.OpenRead(dll);
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        return metadata.AssemblyReferences.Select(r => metadata.GetString(metadata.GetAssemblyReference(r).Name)).ToList();
    }

    [Fact]
    public void The_gateway_uses_the_grain_abstractions_and_not_the_grain_classes()
    {
        var references = ReferencesOf(Binaries.Gateway);
        Assert.Contains("DeviceTrust.Grains.Abstractions", references);
        Assert.DoesNotContain("DeviceTrust.Grains", references);
    }

    [Fact]
    public void The_web_console_uses_the_grain_abstractions_and_core_only()
    {
        var references = ReferencesOf(Path.Combine(Path.GetDirectoryName(Binaries.Gateway)!, "DeviceTrust.Web.dll"));
        Assert.Contains("DeviceTrust.Grains.Abstractions", references);
        Assert.Contains("DeviceTrust.Core", references);
        Assert.DoesNotContain(references, r => r is "DeviceTrust.Grains" or "DeviceTrust.Gateway" or "DeviceTrust.Silo" or "DeviceTrust.Proto");
    }
}
