using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using MobileOne.Conversion;
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
        string repo = RepositoryRoot();
        string feed = dir["feed"], tools = dir["tools"], output = dir["tiny.safetensors"];
        // A version of its own, so the machine's package cache can never serve an older build.
        string version = "0.1.0-test." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);

        // This test project references src/Tool, so the tool is built in this configuration already.
        var pack = Run("dotnet", repo, "pack", Path.Combine(repo, "src/Tool/MobileOne.Tool.csproj"), "-c", Configuration, "--no-build", "-o", feed, "-p:PackageVersion=" + version, "-nodeReuse:false");
        Assert.True(pack.Code == 0, pack.Output);
        Assert.True(File.Exists(Path.Combine(feed, $"MobileOne.Tool.{version}.nupkg")), pack.Output);

        var install = Run("dotnet", dir.Directory, "tool", "install", "MobileOne.Tool", "--version", version, "--tool-path", tools, "--add-source", feed);
        Assert.True(install.Code == 0, install.Output);
        string mobileone = Path.Combine(tools, OperatingSystem.IsWindows() ? "mobileone.exe" : "mobileone");
        Assert.True(File.Exists(mobileone), install.Output);

        var fuse = Run(mobileone, dir.Directory, "fuse", Fixture.Path("tiny_unfused.pth.tar"), "-o", output);
        Assert.True(fuse.Code == 0, fuse.Output);
        StateDict fused = Checkpoint.Load(output);
        Assert.True(fused.Metadata.ContainsKey(FusedNetwork.ArchitectureMetadataKey), "the architecture goes into the metadata");
        Assert.NotNull(fused.Find("stage0.reparam_conv.weight"));

        var inspect = Run(mobileone, dir.Directory, "inspect", output);
        Assert.True(inspect.Code == 0, inspect.Output);
        Assert.Contains("accepted", inspect.Output, StringComparison.Ordinal);

        // A non-MobileOne checkpoint: a clear message and the documented exit code 5, nothing written.
        string bad = dir["resnet.safetensors"];
        var refused = Run(mobileone, dir.Directory, "fuse", Fixture.Path("resnet_like.pth"), "-o", bad);
        Assert.Equal(5, refused.Code);
        Assert.False(File.Exists(bad), refused.Output);
    }

    private static string RepositoryRoot()
    {
        string? d = AppContext.BaseDirectory;
        while (d != null && !File.Exists(Path.Combine(d, "MobileOne.Generator.sln")))
        {
            d = Path.GetDirectoryName(d);
        }

        return d ?? throw new InvalidOperationException("MobileOne.Generator.sln not found above " + AppContext.BaseDirectory);
    }

    private static (int Code, string Output) Run(string fileName, string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(fileName) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        using Process p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException(fileName + " " + string.Join(' ', args) + " did not finish in 5 minutes");
        }

        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
