using System;
using System.Linq;
using MobileOne.Conversion;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.TestSupport.Tests;

public class ArchitectureTests
{
    [Theory]
    [InlineData("s0", 48, new[] { 48, 128, 256, 1024 }, 2_078_504L, 275_110_400L)]
    [InlineData("s1", 64, new[] { 96, 192, 512, 1280 }, 4_764_840L, 825_057_024L)]
    [InlineData("s2", 64, new[] { 96, 256, 640, 2048 }, 7_808_168L, 1_298_426_496L)]
    [InlineData("s3", 64, new[] { 128, 320, 768, 2048 }, 10_078_312L, 1_895_790_592L)]
    [InlineData("s4", 64, new[] { 192, 448, 896, 2048 }, 14_838_352L, 2_979_269_760L)]
    public void PresetsMatchSpecTable(string name, int stem, int[] stages, long parameters, long macs)
    {
        MobileOneArchitecture a = MobileOneArchitecture.Preset(name);
        Assert.Equal((3, 224, 224, 1000), (a.InputChannels, a.InputHeight, a.InputWidth, a.NumClasses));
        Assert.Equal(stem, a.StemChannels);
        Assert.Equal(stages, a.StageChannels);
        Assert.Equal(new[] { 2, 8, 10, 1 }, a.StageBlocks);
        Assert.Equal(name == "s4" ? new[] { 0, 0, 5, 1 } : new[] { 0, 0, 0, 0 }, a.SeBlocks);
        Assert.Equal(parameters, a.ParameterCount);
        Assert.Equal(macs, a.Macs);
        Assert.Equal(43, a.Layers().Count);
        Assert.Equal(name == "s4" ? 136 : 88, TensorCatalog.ExpectedTensors(a, TensorNaming.Apple).Count);
        Assert.Equal(parameters, TensorCatalog.ExpectedTensors(a, TensorNaming.Timm).Sum(t => t.ElementCount));
    }

    [Fact]
    public void PresetFactoriesAndNameForms()
    {
        Assert.Equal(MobileOneArchitecture.S0(), MobileOneArchitecture.Preset("MobileOne-S0"));
        Assert.Equal(MobileOneArchitecture.S1(), MobileOneArchitecture.Preset("mobileone_s1"));
        Assert.Equal(MobileOneArchitecture.S2(), MobileOneArchitecture.Preset("S2"));
        Assert.Equal(MobileOneArchitecture.S3(), MobileOneArchitecture.Preset("s3"));
        Assert.Equal(MobileOneArchitecture.S4(), MobileOneArchitecture.Preset("s4"));
        Assert.NotEqual(MobileOneArchitecture.S3(), MobileOneArchitecture.S4());
        Assert.Throws<ArgumentException>(() => MobileOneArchitecture.Preset("s5"));
    }

    [Fact]
    public void S1LayerTableMatchesSpec()
    {
        var layers = MobileOneArchitecture.S1().Layers();
        LayerInfo stem = layers[0];
        Assert.Equal(("stage0", LayerKind.Stem, 3, 64, 2, 224, 112), (stem.Name, stem.Kind, stem.InChannels, stem.OutChannels, stem.Stride, stem.InHeight, stem.OutHeight));
        Assert.Equal(21_676_032L, stem.Macs);
        Assert.Equal(1_792L, stem.ParameterCount);
        LayerInfo dw = layers.Single(l => l.Name == "stage1.0");
        Assert.Equal((LayerKind.Depthwise, 64, 64, 64, 2, 56), (dw.Kind, dw.InChannels, dw.OutChannels, dw.Groups, dw.Stride, dw.OutHeight));
        Assert.Equal(new[] { 64, 1, 3, 3 }, dw.WeightShape);
        Assert.Equal(1_806_336L, dw.Macs);
        LayerInfo pw = layers.Single(l => l.Name == "stage4.1");
        Assert.Equal((LayerKind.Pointwise, 512, 1280, 7, 7), (pw.Kind, pw.InChannels, pw.OutChannels, pw.OutHeight, pw.OutWidth));
        Assert.Equal(656_640L, pw.ParameterCount);
        Assert.Equal(32_112_640L, pw.Macs);
        Assert.Equal(new[] { 4, 16, 20, 2 }, Enumerable.Range(1, 4).Select(s => layers.Count(l => l.Name.StartsWith($"stage{s}.", StringComparison.Ordinal))).ToArray());
    }

    [Fact]
    public void S4SePlacementAndWidths()
    {
        var se = MobileOneArchitecture.S4().Layers().Where(l => l.HasSe).ToList();
        Assert.Equal(12, se.Count);
        Assert.Equal(Enumerable.Range(10, 10).Select(i => $"stage3.{i}").Concat(new[] { "stage4.0", "stage4.1" }), se.Select(l => l.Name));
        Assert.All(se.Take(11), l => Assert.Equal((896, 56), (l.OutChannels, l.SeReducedChannels)));
        Assert.Equal((2048, 128), (se[11].OutChannels, se[11].SeReducedChannels));
        var t = TensorCatalog.ExpectedTensors(MobileOneArchitecture.S4(), TensorNaming.Apple).ToDictionary(x => x.Name, x => x.Shape);
        Assert.Equal(new[] { 56, 896, 1, 1 }, t["stage3.10.se.reduce.weight"]);
        Assert.Equal(new[] { 2048, 128, 1, 1 }, t["stage4.1.se.expand.weight"]);
        Assert.Equal(new[] { 1000, 2048 }, t["linear.weight"]);
    }

    [Fact]
    public void TimmRenamesFollowSpec()
    {
        Assert.Equal("stem.reparam_conv.weight", TensorCatalog.Rename("stage0.reparam_conv.weight", TensorNaming.Timm));
        Assert.Equal("stages.0.3.reparam_conv.bias", TensorCatalog.Rename("stage1.3.reparam_conv.bias", TensorNaming.Timm));
        Assert.Equal("stages.2.10.attn.fc1.weight", TensorCatalog.Rename("stage3.10.se.reduce.weight", TensorNaming.Timm));
        Assert.Equal("stages.3.1.attn.fc2.bias", TensorCatalog.Rename("stage4.1.se.expand.bias", TensorNaming.Timm));
        Assert.Equal("head.fc.weight", TensorCatalog.Rename("linear.weight", TensorNaming.Timm));
        Assert.Equal("stage2.15.reparam_conv.weight", TensorCatalog.Rename("stage2.15.reparam_conv.weight", TensorNaming.Apple));
        var apple = TensorCatalog.ExpectedTensors(MobileOneArchitecture.S4(), TensorNaming.Apple);
        var timm = TensorCatalog.ExpectedTensors(MobileOneArchitecture.S4(), TensorNaming.Timm);
        Assert.Equal(apple.Select(x => x.Shape), timm.Select(x => x.Shape));
        Assert.Equal(timm.Count, timm.Select(x => x.Name).Distinct().Count());
        Assert.DoesNotContain(timm, x => x.Name.StartsWith("stage", StringComparison.Ordinal) && !x.Name.StartsWith("stages.", StringComparison.Ordinal));
    }

    [Fact]
    public void CustomNetShapesAndSeFloor()
    {
        MobileOneArchitecture a = ReferenceCases.Architecture("odd");
        var layers = a.Layers();
        Assert.Equal(1 + 2 * 6, layers.Count);
        Assert.Equal((19, 23), (layers[0].OutHeight, layers[0].OutWidth));     // 37x45 → 19x23
        Assert.Equal((2, 2), (layers[^1].OutHeight, layers[^1].OutWidth));     // → 10x12 → 5x6 → 3x3 → 2x2
        Assert.Equal(new[] { 13, 1, 3, 3 }, layers[1].WeightShape);
        Assert.Equal(new[] { 21, 13, 1, 1 }, layers[2].WeightShape);
        Assert.Equal(4, layers[^1].SeReducedChannels);                            // int(70 * 0.0625)
        Assert.Equal(1, MobileOneArchitecture.SeReduced(8));                      // int(8 * 0.0625) = 0 → 1
        MobileOneArchitecture tiny = ReferenceCases.Architecture("tiny");
        Assert.Equal((1, 1), (tiny.Layers()[^1].OutHeight, tiny.Layers()[^1].OutWidth));
        Assert.Throws<ArgumentException>(() => (a with { StageBlocks = new[] { 1, 0, 1, 1 } }).Layers());
        Assert.Throws<ArgumentException>(() => (a with { SeBlocks = new[] { 2, 0, 0, 0 } }).Layers());
    }

    [Fact]
    public void PresetsLayersAndTensorsAreMobileOneConversions()
    {
        foreach (string name in MobileOneArchitecture.PresetNames)
        {
            MobileOneArchitecture a = MobileOneArchitecture.Preset(name);
            NetworkArchitecture c = NetworkArchitecture.Preset(name);
            Assert.Equal(c, a.ToConversion());
            Assert.Equal(NetworkArchitecture.PresetWidthMultipliers(name), MobileOneArchitecture.WidthMultipliers(name));
            Assert.Equal(c.Layers().Select(l => (l.Name, l.InChannels, l.OutChannels, l.Stride, l.OutHeight, l.SeReducedChannels)),
                a.Layers().Select(l => (l.Name, l.InChannels, l.OutChannels, l.Stride, l.OutHeight, l.SeReducedChannels)));
            Assert.Equal(c.FusedTensors().Select(t => (t.Name, string.Join(",", t.Shape))),
                TensorCatalog.ExpectedTensors(a).Select(t => (t.Name, string.Join(",", t.Shape))));
        }

        Assert.Equal(new[] { 0.75, 1.0, 1.0, 2.0 }, MobileOneArchitecture.WidthMultipliers("S0"));
        Assert.Throws<ArgumentException>(() => MobileOneArchitecture.WidthMultipliers("s5"));
    }

    [Fact]
    public void TheTinyReferenceNetIsBelowTheGeneratorsMinimumButWalks()
    {
        // 17x9 is below the generator's 32 pixels (NetworkArchitecture.Validate), but the layer walk and the tensor list,
        // which the double reference needs, only ask for a walkable structure.
        MobileOneArchitecture tiny = ReferenceCases.Architecture("tiny");
        Assert.Throws<ArgumentException>(() => tiny.ToConversion().Validate());
        tiny.Validate();
        Assert.Equal(9, tiny.Layers().Count);
        Assert.Equal(tiny.ParameterCount, TensorCatalog.ExpectedTensors(tiny).Sum(t => t.ElementCount));
    }
}
