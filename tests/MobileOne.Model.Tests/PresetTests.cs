using System;
using System.Collections.Generic;
using System.Linq;
using MobileOne.Model;
using Xunit;

namespace MobileOne.Model.Tests;

/// <summary>The presets and the layer walk against facts written down by hand from the paper and Apple's code.</summary>
public class PresetTests
{
    // Stem and stage widths as listed in docs/mobileone.md (Apple's mobileone.py: 64·a1, 128·a2, 256·a3, 512·a4, stem min(64, 64·a1)).
    public static TheoryData<string, int, int[], int[]> Widths => new()
    {
        { "s0", 48, new[] { 48, 128, 256, 1024 }, new[] { 0, 0, 0, 0 } },
        { "s1", 64, new[] { 96, 192, 512, 1280 }, new[] { 0, 0, 0, 0 } },
        { "s2", 64, new[] { 96, 256, 640, 2048 }, new[] { 0, 0, 0, 0 } },
        { "s3", 64, new[] { 128, 320, 768, 2048 }, new[] { 0, 0, 0, 0 } },
        { "s4", 64, new[] { 192, 448, 896, 2048 }, new[] { 0, 0, 5, 1 } },
    };

    [Theory]
    [MemberData(nameof(Widths))]
    public void Presets_have_the_published_widths(string name, int stem, int[] stages, int[] se)
    {
        NetworkShape p = Presets.Get(name)!;
        Assert.Equal(stem, p.StemChannels);
        Assert.Equal(stages, p.StageChannels);
        Assert.Equal(new[] { 2, 8, 10, 1 }, p.StageBlocks);
        Assert.Equal(se, p.SeBlocks);
        Assert.Equal((3, 224, 224, 1000), (p.InputChannels, p.InputHeight, p.InputWidth, p.NumClasses));
        Assert.Equal(name, p.Variant);
        Assert.Equal(name, Presets.Detect(p.WithInputSize(256, 320).WithNumClasses(10)));
    }

    // Table 7 of the paper: parameters (M) and FLOPs (M, multiply-accumulates) of the fused S0–S4.
    [Theory]
    [InlineData("s0", 2.1, 275)]
    [InlineData("s1", 4.8, 825)]
    [InlineData("s2", 7.8, 1299)]
    [InlineData("s3", 10.1, 1896)]
    [InlineData("s4", 14.8, 2978)]
    public void Parameter_and_mac_counts_match_the_paper(string name, double millionParameters, double millionMacs)
    {
        NetworkShape p = Presets.Get(name)!;
        Assert.InRange(p.ParameterCount / 1e6, millionParameters - 0.05, millionParameters + 0.05);
        Assert.InRange(p.Macs / 1e6, millionMacs * 0.99, millionMacs * 1.01);
    }

    [Fact]
    public void The_walk_of_S4_has_the_layers_strides_sizes_and_se_a_person_counts()
    {
        IReadOnlyList<LayerShape> layers = Presets.Get("mobileone_s4")!.Layers();
        Assert.Equal(1 + (2 * 21), layers.Count);
        Assert.Equal(("stage0", LayerType.Stem, 3, 64, 2, 112), (layers[0].Name, layers[0].Type, layers[0].InChannels, layers[0].OutChannels, layers[0].Stride, layers[0].OutHeight));
        // The first pair of every stage halves the map: 112 → 56 → 28 → 14 → 7.
        foreach (var (name, size) in new[] { ("stage1.0", 56), ("stage2.0", 28), ("stage3.0", 14), ("stage4.0", 7) })
        {
            LayerShape l = layers.Single(x => x.Name == name);
            Assert.Equal((LayerType.Depthwise, 2, size), (l.Type, l.Stride, l.OutHeight));
        }

        // SE on the last 5 pairs of stage 3 (stage3.10 … stage3.19) and both layers of stage 4; 896 / 16 = 56 wide.
        string[] se = layers.Where(l => l.HasSe).Select(l => l.Name).ToArray();
        Assert.Equal(Enumerable.Range(10, 10).Select(i => $"stage3.{i}").Concat(new[] { "stage4.0", "stage4.1" }), se);
        Assert.Equal(56, layers.Single(l => l.Name == "stage3.19").SeReduced);
        Assert.Equal(896, layers.Single(l => l.Name == "stage4.0").InChannels);
        Assert.Equal(2048, layers[^1].OutChannels);
    }

    [Fact]
    public void Fused_and_train_time_tensor_lists_have_the_expected_counts()
    {
        NetworkShape s0 = Presets.Get("s0")!;
        // 43 layers x (weight, bias) + linear (weight, bias).
        Assert.Equal((43 * 2) + 2, s0.FusedTensors().Count);
        Assert.Equal(new[] { 1000, 1024 }, s0.FusedTensors()[^2].Shape);

        // k = 4: per layer 4 x (conv + 4 BN); 3x3 layers add a scale branch (conv + 4 BN); stride-1 layers with Cin = Cout add
        // a 4-tensor BN skip.
        IReadOnlyList<TensorShape> train = s0.TrainTimeTensors(_ => 4);
        int expected = 2;
        foreach (LayerShape l in s0.Layers())
        {
            expected += 4 * 5 + (l.KernelSize == 3 ? 5 : 0) + (l.InChannels == l.OutChannels && l.Stride == 1 ? 4 : 0);
        }

        Assert.Equal(expected, train.Count);
        Assert.Contains(train, t => t.Name == "stage1.2.rbr_skip.running_var");
        Assert.DoesNotContain(train, t => t.Name == "stage1.0.rbr_skip.running_var"); // stride 2
    }

    [Theory]
    [InlineData(31, 224, "input size 31x224")]
    [InlineData(224, 8193, "input size 224x8193")]
    public void Inputs_outside_32_to_8192_are_rejected_everywhere(int h, int w, string fragment)
    {
        string? error = Presets.Get("s0")!.WithInputSize(h, w).ValidationError();
        Assert.NotNull(error);
        Assert.Contains(fragment, error);
        Assert.Null(Presets.Get("s0")!.WithInputSize(32, 32).ValidationError());
    }

    [Theory]
    [InlineData("S1", "s1")]
    [InlineData("mobileone_s2", "s2")]
    [InlineData("MobileOne-S3", "s3")]
    [InlineData("s5", null)]
    public void Variant_names_are_normalised(string name, string? expected) => Assert.Equal(expected, Presets.Normalize(name));
}
