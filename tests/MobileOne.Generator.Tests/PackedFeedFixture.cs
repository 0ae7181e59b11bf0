using System;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using MobileOne.Generator.Tests.Infrastructure;
using MobileOne.TestSupport;

namespace MobileOne.Generator.Tests;

/// <summary>
/// MobileOne.Runtime and MobileOne.Generator packed once into a local feed, shared by every test of
/// <see cref="PackageConsumerTests"/>; each consumer project is a folder of its own under the same temporary folder.
/// </summary>
public sealed class PackedFeedFixture : IDisposable
{
#if DEBUG
    public const string Configuration = "Debug";
#else
    public const string Configuration = "Release";
#endif

    private readonly TempModels _work = new();

    public PackedFeedFixture()
    {
        string repo = ProcessRunner.RepositoryRoot();
        Feed = _work.PathOf("feed");
        // A version of its own, so the machine's package cache can never serve an older build of ours.
        Version = "0.1.0-test." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);
        foreach (string project in new[] { "src/Runtime/MobileOne.Runtime.csproj", "src/Generator/MobileOne.Generator.csproj" })
        {
            var (code, log) = ProcessRunner.Dotnet(repo, "pack", Path.Combine(repo, project), "-c", Configuration, "--no-build", "-o", Feed, "-p:PackageVersion=" + Version);
            if (code != 0)
            {
                throw new InvalidOperationException("dotnet pack " + project + " failed:\n" + log);
            }
        }
    }

    /// <summary>The local package source holding the two packages.</summary>
    public string Feed { get; }

    /// <summary>The version both packages were packed with.</summary>
    public string Version { get; }

    /// <summary>
    /// The portable runtime identifier of this machine (linux-x64, linux-arm64, linux-musl-x64, osx-arm64, win-x64, ...),
    /// for a NativeAOT publish. <see cref="RuntimeInformation.RuntimeIdentifier"/> is that on Microsoft's builds of .NET;
    /// a distribution's own build may report a distro-specific one (ubuntu.24.04-x64), for which no ILCompiler
    /// package exists, so then it is computed from the OS and the architecture.
    /// </summary>
    public static string HostRuntimeIdentifier
    {
        get
        {
            string rid = RuntimeInformation.RuntimeIdentifier;
            if (Regex.IsMatch(rid, "^(linux|linux-musl|osx|win)-(x64|x86|arm64|arm)$"))
            {
                return rid;
            }

            string os = OperatingSystem.IsWindows() ? "win"
                : OperatingSystem.IsMacOS() ? "osx"
                : rid.Contains("musl", StringComparison.OrdinalIgnoreCase) || File.Exists("/etc/alpine-release") ? "linux-musl"
                : "linux";
            return os + "-" + RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant();
        }
    }

    /// <summary>A new, empty folder for a consumer project, with a nuget.config that adds the local feed.</summary>
    public string NewConsumerDirectory(string name)
    {
        string dir = _work.PathOf(name);
        Directory.CreateDirectory(dir);
        WriteNuGetConfig(dir);
        return dir;
    }

    /// <summary>Adds the local feed to the package sources of <paramref name="directory"/> (the registry stays, for the SDK's packs).</summary>
    public void WriteNuGetConfig(string directory) => File.WriteAllText(Path.Combine(directory, "nuget.config"), $"""
        <?xml version="1.0" encoding="utf-8"?>
        <configuration>
          <packageSources>
            <add key="local" value="{Feed}" />
          </packageSources>
        </configuration>
        """);

    public void Dispose() => _work.Dispose();
}
