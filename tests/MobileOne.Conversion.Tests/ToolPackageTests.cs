using System;
using System.Globalization;
using System.IO;
using MobileOne.Conversion;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.Conversion.Tests;

/// <summary>
/// The <c>mobileone</c> tool as a user gets it: packed with PackAsTool into a local feed, installed with
/// <c>dotnet tool install --tool-path</c>, and run as a process on a train-time PyTorch checkpoint.
/// </summary>
public class ToolPackageTests
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    [Fact]
    public void PackedToolInstallsAndFusesACheckpoint()
    {
        using var dir = new TempDir();
        string repo = ProcessRunner.RepositoryRoot();
        string feed = dir["feed"], tools = dir["tools"], output = dir["tiny.safetensors"];
        // A version of its own, so the machine's package cache can never serve an older build.
        string version = "0.1.0-test." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);

        // This test project references src/Tool, so the tool is built in this configuration already.
        var pack = ProcessRunner.Dotnet(repo, "pack", Path.Combine(repo, "src/Tool/MobileOne.Tool.csproj"), "-c", Configuration, "--no-build", "-o", feed, "-p:PackageVersion=" + version);
        Assert.True(pack.ExitCode == 0, pack.Output);
        Assert.True(File.Exists(Path.Combine(feed, $"MobileOne.Tool.{version}.nupkg")), pack.Output);

        var install = ProcessRunner.Dotnet(dir.Directory, "tool", "install", "MobileOne.Tool", "--version", version, "--tool-path", tools, "--add-source", feed);
        Assert.True(install.ExitCode == 0, install.Output);
        string mobileone = Path.Combine(tools, OperatingSystem.IsWindows() ? "mobileone.exe" : "mobileone");
        Assert.True(File.Exists(mobileone), install.Output);

        var fuse = ProcessRunner.Run(mobileone, dir.Directory, "fuse", Fixture.Path("tiny_unfused.pth.tar"), "-o", output);
        Assert.True(fuse.ExitCode == 0, fuse.Output);
        StateDict fused = Checkpoint.Load(output);
        Assert.True(fused.Metadata.ContainsKey(FusedNetwork.ArchitectureMetadataKey), "the architecture goes into the metadata");
        Assert.NotNull(fused.Find("stage0.reparam_conv.weight"));

        var inspect = ProcessRunner.Run(mobileone, dir.Directory, "inspect", output);
        Assert.True(inspect.ExitCode == 0, inspect.Output);
        Assert.Contains("accepted", inspect.Output, StringComparison.Ordinal);

        // A non-MobileOne checkpoint: a clear message and the documented exit code 5, nothing written.
        string bad = dir["resnet.safetensors"];
        var refused = ProcessRunner.Run(mobileone, dir.Directory, "fuse", Fixture.Path("resnet_like.pth"), "-o", bad);
        Assert.Equal(5, refused.ExitCode);
        Assert.False(File.Exists(bad), refused.Output);
    }
}
