using MobileOne.Generator.Tests.Infrastructure;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.Generator.Tests;

/// <summary>Class names derived from file names (ModelFileParser.ClassNameFromFileName) and how they reach the output.</summary>
public class ClassNameTests
{
    [Theory]
    [InlineData("mobileone_s1", "MobileOneS1")]
    [InlineData("MobileOne-S0", "MobileOneS0")]
    [InlineData("MOBILEONE_s4", "MobileOneS4")]
    [InlineData("mobileone", "MobileOne")]
    [InlineData("my-net.v2", "MyNetV2")]
    [InlineData("tiny_se", "TinySe")]
    [InlineData("s1_arch_only", "S1ArchOnly")]
    [InlineData("resnet", "Resnet")]
    [InlineData("already Pascal", "AlreadyPascal")]
    [InlineData("iPhone_net", "IPhoneNet")]
    [InlineData("__double__under__", "DoubleUnder")]
    [InlineData("net-2024.06", "Net202406")]
    [InlineData("über_net", "ÜberNet")]
    [InlineData("mobileones_x", "MobileonesX")]
    [InlineData("123", "123")]
    [InlineData("___", "")]
    public void ClassNameFromFileName(string baseName, string expected)
    {
        Assert.Equal(expected, ModelFileParser.ClassNameFromFileName(baseName));
    }

    [Theory]
    [InlineData("my-net.v2.safetensors", "TestApp.MyNetV2.g.cs")]
    [InlineData("mobileone_s1.SafeTensors", "TestApp.MobileOneS1.g.cs")]
    public void FileNameBecomesTheClassName(string fileName, string hintName)
    {
        var arch = TestNets.TinySe;
        using var models = new TempModels();
        string path = models.WriteWeights(fileName, arch, TestNets.SeededWeights(arch, 1));
        GeneratorRun run = GeneratorHarness.Run(path);
        RunAssert.NoGeneratorException(run);
        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Equal(new[] { hintName }, run.HintNames);
    }

    [Fact]
    public void MetadataAndRootNamespaceChooseTheFullName()
    {
        var arch = TestNets.TinySe;
        using var models = new TempModels();
        string a = models.WriteWeights("a.safetensors", arch, TestNets.SeededWeights(arch, 1));
        string b = models.WriteWeights("b.safetensors", arch, TestNets.SeededWeights(arch, 1));
        string c = models.WriteText("c.mobileone.json", "{\"variant\": \"s0\"}");
        GeneratorRun run = GeneratorHarness.Run(
            new[]
            {
                new ModelItem(a, new() { ["MobileOneClassName"] = "Classifier", ["MobileOneNamespace"] = "Vision.Models" }),
                new ModelItem(b, new() { ["MobileOneNamespace"] = "global" }),
                new ModelItem(c),
            },
            new() { ["build_property.RootNamespace"] = "My.App" });
        RunAssert.NoGeneratorException(run);
        Assert.Empty(run.GeneratorDiagnostics);
        Assert.Equal(new[] { "B.g.cs", "My.App.C.g.cs", "Vision.Models.Classifier.g.cs" }, System.Linq.Enumerable.OrderBy(run.HintNames, n => n, System.StringComparer.Ordinal));
    }
}
