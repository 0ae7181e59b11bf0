using System;
using System.IO;
using MobileOne.Generator.Tests.Infrastructure;
using Xunit;
using Xunit.Sdk;

namespace MobileOne.Generator.Tests;

/// <summary>The snapshot helper itself, against a throw-away folder (never the real Snapshots/).</summary>
public class SnapshotAssertTests
{
    [Fact]
    public void MatchIgnoresLineEndingsAndRemovesAStaleReceivedFile()
    {
        using var models = new TempModels();
        string folder = Path.Combine(models.Directory, "Snapshots");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "X.verified.cs"), "a\r\nb\r\n");
        File.WriteAllText(Path.Combine(folder, "X.received.cs"), "old");

        SnapshotAssert.Matches("a\nb\n", "X", folder);

        Assert.False(File.Exists(Path.Combine(folder, "X.received.cs")));
    }

    [Fact]
    public void MismatchWritesReceivedAndShowsADiff()
    {
        using var models = new TempModels();
        string folder = Path.Combine(models.Directory, "Snapshots");
        Directory.CreateDirectory(folder);
        string verified = string.Join("\n", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten") + "\n";
        File.WriteAllText(Path.Combine(folder, "X.verified.cs"), verified);
        string actual = verified.Replace("three", "THREE", StringComparison.Ordinal).Replace("ten", "ten\neleven", StringComparison.Ordinal);

        var e = Assert.ThrowsAny<XunitException>(() => SnapshotAssert.Matches(actual, "X", folder));

        Assert.Equal(actual, File.ReadAllText(Path.Combine(folder, "X.received.cs")));
        Assert.Equal(verified, File.ReadAllText(Path.Combine(folder, "X.verified.cs")));
        string nl = Environment.NewLine;
        Assert.Contains($"@@ -1,6 +1,6 @@{nl} one{nl} two{nl}-three{nl}+THREE{nl} four{nl}", e.Message, StringComparison.Ordinal);
        Assert.Contains($"@@ -8,4 +8,5 @@{nl} eight{nl} nine{nl} ten{nl}+eleven{nl} {nl}", e.Message, StringComparison.Ordinal);
        Assert.Contains("MOBILEONE_ACCEPT_SNAPSHOTS=1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingVerifiedFileFailsAndWritesReceived()
    {
        using var models = new TempModels();
        string folder = Path.Combine(models.Directory, "Snapshots");
        Assert.ThrowsAny<XunitException>(() => SnapshotAssert.Matches("x\n", "New", folder));
        Assert.True(File.Exists(Path.Combine(models.Directory, "Snapshots", "New.received.cs")));
    }

    [Fact]
    public void DefaultFolderIsTheCommittedSnapshotsFolderEvenInAPathMappedBuild()
    {
        // CI builds with ContinuousIntegrationBuild, which maps source paths to /_/; the folder must not depend on them.
        Assert.True(File.Exists(Path.Combine(TestProject.Directory, "MobileOne.Generator.Tests.csproj")), TestProject.Directory);
        Assert.NotEmpty(Directory.GetFiles(SnapshotAssert.DefaultFolder, "*.verified.cs"));
    }
}
