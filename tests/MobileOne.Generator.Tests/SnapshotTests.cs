using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using MobileOne.Generator.Tests.Infrastructure;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.Generator.Tests;

/// <summary>
/// The generated source for three committed models, compared with Snapshots/*.verified.cs
/// (rerun with MOBILEONE_ACCEPT_SNAPSHOTS=1 to accept a change; that also rewrites the committed TestModels).
/// </summary>
public class SnapshotTests
{
    private static bool Accepting => Environment.GetEnvironmentVariable(SnapshotAssert.AcceptVariable) == "1";

    /// <summary>The committed model files still come out of their recipes, byte for byte.</summary>
    [Fact]
    public void CommittedTestModelsAreReproducible()
    {
        byte[] tinySe = TestNets.TinySeBytes();
        string s0Header = TestNets.S0Header();
        string s1ArchOnly = "{\"variant\":\"s1\"}\n";
        if (Accepting)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(TestNets.SourceTestModels(TestNets.TinySeFile))!);
            File.WriteAllBytes(TestNets.SourceTestModels(TestNets.TinySeFile), tinySe);
            File.WriteAllText(TestNets.SourceTestModels(TestNets.S0HeaderFile), s0Header, new UTF8Encoding(false));
            File.WriteAllText(TestNets.SourceTestModels(TestNets.S1ArchOnlyFile), s1ArchOnly, new UTF8Encoding(false));
        }

        Assert.True(tinySe.Length < 50 * 1024, $"tiny_se.safetensors is {tinySe.Length} bytes; keep committed models small.");
        Assert.Equal(tinySe, File.ReadAllBytes(Model(TestNets.TinySeFile)));
        Assert.Equal(s0Header, File.ReadAllText(Model(TestNets.S0HeaderFile)).Trim());
        Assert.Equal(s1ArchOnly, SnapshotAssert.Normalize(File.ReadAllText(Model(TestNets.S1ArchOnlyFile))));
    }

    [Fact]
    public void TinySeNetwork()
    {
        GeneratorRun run = GeneratorHarness.Run(Model(TestNets.TinySeFile));
        RunAssert.Clean(run);
        Assert.Equal(new[] { "TestApp.TinySe.g.cs" }, run.HintNames);
        SnapshotAssert.Matches(run.Source("TestApp.TinySe.g.cs"), "TinySe");
    }

    [Fact]
    public void MobileOneS0FromHeaderOnly()
    {
        using var models = new TempModels();
        string header = File.ReadAllText(Model(TestNets.S0HeaderFile)).Trim();
        string path = TestNets.WriteSparse(models.PathOf("mobileone_s0.safetensors"), header);
        GeneratorRun run = GeneratorHarness.Run(path);
        RunAssert.Clean(run);
        string source = run.Source("TestApp.MobileOneS0.g.cs");
        Assert.Contains("public const string Variant = \"S0\";", source, StringComparison.Ordinal);
        SnapshotAssert.Matches(source, "MobileOneS0");
    }

    [Fact]
    public void ArchitectureOnlyS1()
    {
        GeneratorRun run = GeneratorHarness.Run(Model(TestNets.S1ArchOnlyFile));
        RunAssert.Clean(run);
        string source = run.Source("TestApp.S1ArchOnly.g.cs");
        Assert.DoesNotContain("Default", source, StringComparison.Ordinal);
        SnapshotAssert.Matches(source, "S1ArchOnly");
    }

    /// <summary>A culture with U+2212 as minus sign and ',' as decimal separator changes nothing in the output.</summary>
    [Fact]
    public void EmissionIsCultureInvariant()
    {
        var arch = new MobileOneArchitecture(3, 32, 36, 8, new[] { 8, 16, 16, 24 }, new[] { 1, 1, 1, 1 }, new[] { 0, 0, 0, 1 }, 20);
        string json = "{\"inputSize\": [32, 36], \"mean\": [-0.485, 0.456, -1.5e-3], \"std\": [0.229, 1e-3, 2.5], \"cropPct\": 0.95}";
        using var models = new TempModels();
        string path = models.WriteWeights("culture_net.safetensors", arch, TestNets.SeededWeights(arch, 3),
            metadata: new Dictionary<string, string> { ["mobileone.architecture"] = json });

        GeneratorRun invariantRun = RunUnder(CultureInfo.InvariantCulture, path);
        GeneratorRun oddRun = RunUnder(OddCulture(), path);

        foreach (GeneratorRun run in new[] { invariantRun, oddRun })
        {
            RunAssert.NoGeneratorException(run);
            Assert.Empty(run.GeneratorDiagnostics);
        }

        string expected = invariantRun.Source("TestApp.CultureNet.g.cs");
        string actual = oddRun.Source("TestApp.CultureNet.g.cs");
        Assert.Contains("-0.485f", expected, StringComparison.Ordinal);
        Assert.Contains("0.001f", expected, StringComparison.Ordinal);
        Assert.True(expected == actual, "Output depends on the current culture:\n" + SnapshotAssert.Diff(expected, actual));
    }

    /// <summary>sv-SE (or, without ICU, the invariant culture) with U+2212 as the minus sign and ',' as decimal separator.</summary>
    private static CultureInfo OddCulture()
    {
        CultureInfo culture;
        try
        {
            culture = (CultureInfo)CultureInfo.GetCultureInfo("sv-SE").Clone();
        }
        catch (CultureNotFoundException)
        {
            culture = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        }

        NumberFormatInfo nf = culture.NumberFormat;
        nf.NegativeSign = "\u2212";
        nf.NumberDecimalSeparator = ",";
        nf.NumberGroupSeparator = "\u00A0";
        nf.PercentDecimalSeparator = ",";
        nf.CurrencyDecimalSeparator = ",";
        return culture;
    }

    private static GeneratorRun RunUnder(CultureInfo culture, string path)
    {
        CultureInfo saved = CultureInfo.CurrentCulture, savedUi = CultureInfo.CurrentUICulture;
        try
        {
            CultureInfo.CurrentCulture = culture;
            CultureInfo.CurrentUICulture = culture;
            return GeneratorHarness.Run(path);
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
            CultureInfo.CurrentUICulture = savedUi;
        }
    }

    /// <summary>A committed model: the source tree's copy (rewritten in accept mode), else the output folder's.</summary>
    private static string Model(string fileName)
    {
        string source = TestNets.SourceTestModels(fileName);
        return File.Exists(source) ? source : TestNets.OutputTestModels(fileName);
    }
}
