using System;
using System.Collections.Generic;
using System.Linq;
using MobileOne.Conversion;
using MobileOne.TestSupport;
using Xunit;
using ConvTensor = MobileOne.Conversion.Tensor;

namespace MobileOne.Conversion.Tests;

/// <summary>Architecture inference from train-time and fused tensors, the spec's counts, and the errors for broken checkpoints.</summary>
public class CheckpointAnalysisTests
{
    // docs/mobileone.md ("The five variants", "Tensor names"): fused params, unfused learnable params, key counts with num_batches_tracked.
    [Theory]
    [InlineData("s0", 4, 2_078_504L, 5_293_272L, 1323, 275_110_400L)]
    [InlineData("s1", 1, 4_764_840L, 4_825_192L, 562, 825_057_024L)]
    [InlineData("s2", 1, 7_808_168L, 7_884_648L, 562, 1_298_426_496L)]
    [InlineData("s3", 1, 10_078_312L, 10_170_600L, 562, 1_895_790_592L)]
    [InlineData("s4", 1, 14_838_352L, 14_951_248L, 610, 2_979_269_760L)]
    public void PresetsMatchTheSpecCounts(string variant, int k, long fusedParams, long unfusedParams, int keys, long macs)
    {
        NetworkArchitecture arch = NetworkArchitecture.Preset(variant);
        var branches = arch.Layers().ToDictionary(l => l.Name, l => l.Kind == ConvLayerKind.Stem ? 1 : k);
        var expected = MobileOneCheckpoint.ExpectedTensors(arch, CheckpointForm.TrainTime, branches);
        int bnCount = expected.Count(e => e.Name.EndsWith(".running_var", StringComparison.Ordinal));
        Assert.Equal(keys, expected.Count + bnCount);
        var tensors = expected.Select(e => new ConvTensor(e.Name, "F32", e.Shape, new float[ConvTensor.ElementCountOf(e.Shape)])).ToList();
        MobileOneCheckpoint cp = MobileOneCheckpoint.Analyze(new StateDict(tensors, variant, "memory"));
        Assert.Equal(variant, cp.Architecture.Variant);
        Assert.Equal(k, cp.NumConvBranches);
        Assert.Equal(unfusedParams, cp.LearnableParameters);
        Assert.Equal(fusedParams, cp.Architecture.ParameterCount);
        Assert.Equal(macs, cp.Architecture.Macs);
        Assert.Equal(variant == "s4" ? 136 : 88, cp.Architecture.FusedTensors().Count);
    }

    private static StateDict Tiny(Func<IEnumerable<ConvTensor>, IEnumerable<ConvTensor>> edit, NamingConvention naming = NamingConvention.Apple)
    {
        var arch = new MobileOneArchitecture(3, 64, 64, 8, new[] { 8, 16, 16, 24 }, new[] { 1, 2, 1, 1 }, new[] { 0, 0, 1, 1 }, 5);
        StateDict sd = TrainTimeNet.Create(arch, 2, 1).ToStateDict(naming, source: "tiny.pth");
        return new StateDict(edit(sd.Tensors).ToList(), "tiny.pth", "memory");
    }

    [Fact]
    public void MissingTensorsAreListedByName()
    {
        var e = Assert.Throws<ConversionException>(() => MobileOneCheckpoint.Analyze(Tiny(ts => ts.Where(t =>
            t.Name != "stage2.1.rbr_conv.1.bn.running_var" && t.Name != "stage3.0.rbr_scale.conv.weight"))));
        Assert.Equal(ConversionErrorKind.NotMobileOne, e.Kind);
        Assert.Contains("missing tensors (2)", e.Message, StringComparison.Ordinal);
        Assert.Contains("stage2.1.rbr_conv.1.bn.running_var [16]", e.Message, StringComparison.Ordinal);
        Assert.Contains("stage3.0.rbr_scale.conv.weight [16, 1, 1, 1]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingTensorsAreListedInTimmNamesForATimmCheckpoint()
    {
        var e = Assert.Throws<ConversionException>(() => MobileOneCheckpoint.Analyze(Tiny(ts => ts.Where(t => t.Name != "stages.2.1.attn.fc1.bias"), NamingConvention.Timm)));
        Assert.Contains("stages.2.1.attn.fc1.bias [1]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnexpectedTensorsAreListedByName()
    {
        var e = Assert.Throws<ConversionException>(() => MobileOneCheckpoint.Analyze(Tiny(ts => ts.Append(new ConvTensor("stage1.0.rbr_extra.weight", "F32", new[] { 2 }, new float[2]))
            .Append(new ConvTensor("classifier.weight", "F32", new[] { 3 }, new float[3])))));
        Assert.Contains("unexpected tensors (2)", e.Message, StringComparison.Ordinal);
        Assert.Contains("stage1.0.rbr_extra.weight [2]", e.Message, StringComparison.Ordinal);
        Assert.Contains("classifier.weight [3]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShapeMismatchesGiveBothShapes()
    {
        var e = Assert.Throws<ConversionException>(() => MobileOneCheckpoint.Analyze(Tiny(ts => ts.Select(t =>
            t.Name == "stage2.2.rbr_conv.0.conv.weight" ? new ConvTensor(t.Name, "F32", new[] { 16, 1, 5, 5 }, new float[400]) : t))));
        Assert.Contains("'stage2.2.rbr_conv.0.conv.weight' is [16, 1, 5, 5], expected [16, 1, 3, 3]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MixedFormsAndMixedNamesAreRejected()
    {
        var mixedForm = Assert.Throws<ConversionException>(() => MobileOneCheckpoint.Analyze(Tiny(ts => ts.Append(new ConvTensor("stage1.0.reparam_conv.weight", "F32", new[] { 8, 1, 3, 3 }, new float[72])))));
        Assert.Contains("mixes fused tensors", mixedForm.Message, StringComparison.Ordinal);
        var mixedNames = Assert.Throws<ConversionException>(() => MobileOneCheckpoint.Analyze(Tiny(ts => ts.Append(new ConvTensor("head.fc.extra", "F32", new[] { 1 }, new float[1])))));
        Assert.Contains("mixes Apple's tensor names", mixedNames.Message, StringComparison.Ordinal);
        var empty = Assert.Throws<ConversionException>(() => MobileOneCheckpoint.Analyze(new StateDict(Array.Empty<ConvTensor>(), "empty.pth", "memory")));
        Assert.Contains("holds no tensors", empty.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TimmSeWidthsThatDifferFromApplesAreReadFromTheTensors()
    {
        // timm's make_divisible(C/16, 8) gives 8 for C = 24 where Apple's C/16 gives 1: the width comes from the tensors.
        StateDict sd = Tiny(ts => ts.Select(t => t.Name switch
        {
            "stage4.1.se.reduce.weight" => new ConvTensor(t.Name, "F32", new[] { 8, 24, 1, 1 }, new float[192]),
            "stage4.1.se.reduce.bias" => new ConvTensor(t.Name, "F32", new[] { 8 }, new float[8]),
            "stage4.1.se.expand.weight" => new ConvTensor(t.Name, "F32", new[] { 24, 8, 1, 1 }, new float[192]),
            _ => t,
        }));
        MobileOneCheckpoint cp = MobileOneCheckpoint.Analyze(sd);
        Assert.Equal(8, cp.Architecture.Layers().Single(l => l.Name == "stage4.1").SeReducedChannels);
        Assert.Equal(8, Reparameterizer.Fuse(cp)["stage4.1.se.reduce.bias"].Length);
    }
}
