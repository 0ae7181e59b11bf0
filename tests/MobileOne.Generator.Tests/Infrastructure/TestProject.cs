using System;
using System.Linq;
using System.Reflection;

namespace MobileOne.Generator.Tests.Infrastructure;

/// <summary>
/// This test project's source folder, baked into the assembly by the csproj (AssemblyMetadata
/// <c>MobileOne.TestProjectDirectory</c>). [CallerFilePath] cannot be used: CI builds are path-mapped.
/// </summary>
public static class TestProject
{
    public const string MetadataKey = "MobileOne.TestProjectDirectory";

    public static string Directory { get; } =
        typeof(TestProject).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == MetadataKey)?.Value
        ?? throw new InvalidOperationException($"The test assembly has no AssemblyMetadata '{MetadataKey}' (see MobileOne.Generator.Tests.csproj).");
}
