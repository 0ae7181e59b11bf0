using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using MobileOne.Conversion;
using Xunit;
using ConvTensor = MobileOne.Conversion.Tensor;

namespace MobileOne.Conversion.Tests;

/// <summary>
/// The conversion library on the shared model (src/Shared/Model): the rules it now shares with the generator, where the
/// two used to disagree.
/// </summary>
public class ModelConsolidationTests
{
    private static StateDict Zeros(IEnumerable<(string Name, int[] Shape)> tensors, string source) =>
        new(tensors.Select(t => new ConvTensor(t.Name, "F32", t.Shape, new float[ConvTensor.ElementCountOf(t.Shape)])).ToList(), source, "memory");

    private static Dictionary<string, int> Branches(NetworkArchitecture arch, int k) =>
        arch.Layers().ToDictionary(l => l.Name, l => l.Kind == ConvLayerKind.Stem ? 1 : k);

    // (a) One naming rule: a file uses Apple's names or timm's, never both.
    [Fact]
    public void ACheckpointMixingAppleAndTimmNamesIsRejectedAndSaysSo()
    {
        NetworkArchitecture s0 = NetworkArchitecture.Preset("s0");
        var tensors = s0.FusedTensors().Select(t => t.Name.StartsWith("linear.", StringComparison.Ordinal) ? ("head.fc." + t.Name["linear.".Length..], t.Shape) : t);
        var e = Assert.Throws<ConversionException>(() => MobileOneCheckpoint.Analyze(Zeros(tensors, "mixed.safetensors")));
        Assert.Equal(ConversionErrorKind.NotMobileOne, e.Kind);
        Assert.Contains("mixed.safetensors", e.Message, StringComparison.Ordinal);
        Assert.Contains("mixes Apple's tensor names ('stage0.reparam_conv.weight') with timm's ('head.fc.weight')", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TwoNamesForOneTensorAreRejected()
    {
        NetworkArchitecture s0 = NetworkArchitecture.Preset("s0");
        var tensors = s0.FusedTensors().Append(("stem.reparam_conv.weight", new[] { 48, 3, 3, 3 }));
        var e = Assert.Throws<ConversionException>(() => MobileOneCheckpoint.Analyze(Zeros(tensors, "twice.safetensors")));
        Assert.Equal(ConversionErrorKind.NotMobileOne, e.Kind);
        Assert.Contains("two names for tensor 'stage0.reparam_conv.weight': 'stage0.reparam_conv.weight' and 'stem.reparam_conv.weight'", e.Message, StringComparison.Ordinal);
    }

    // (b) The generator's limits: an input of at least 32 pixels a side.
    [Fact]
    public void ValidateRejectsAnInputBelowTheGeneratorsMinimumOf32()
    {
        NetworkArchitecture s0 = NetworkArchitecture.Preset("s0");
        var e = Assert.Throws<ArgumentException>(() => (s0 with { InputHeight = 16, InputWidth = 16 }).Validate());
        Assert.Contains("the input size 16x16 is outside 32..8192", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => (s0 with { InputHeight = 32, InputWidth = 31 }).Validate());
        (s0 with { InputHeight = 32, InputWidth = 32 }).Validate();
        s0.Validate();
        Assert.Throws<ArgumentException>(() => (s0 with { InputHeight = 8193 }).Validate());
        Assert.Throws<ArgumentException>(() => (s0 with { NumClasses = 1_000_001 }).Validate());
        Assert.Throws<ArgumentException>(() => (s0 with { StageBlocks = new[] { 2, 8, 1025, 1 } }).Validate());
    }

    [Fact]
    public void TheLayerWalkStillRunsBelow32PixelsForTheReferences()
    {
        // The double references and the training gradient checks run nets of 17x9 and 29x35 pixels: the walk needs a
        // walkable structure only, Validate asks whether the generator can build it.
        var tiny = new NetworkArchitecture(3, 17, 9, 16, new[] { 16, 32, 48, 64 }, new[] { 1, 1, 1, 1 }, new[] { 1, 0, 1, 1 }, 10);
        Assert.Throws<ArgumentException>(tiny.Validate);
        IReadOnlyList<ConvLayer> layers = tiny.Layers();
        Assert.Equal((1, 1), (layers[^1].OutHeight, layers[^1].OutWidth));
        Assert.Throws<ArgumentException>(() => (tiny with { StageBlocks = new[] { 1, 0, 1, 1 } }).Layers());
        Assert.Throws<ArgumentException>(() => (tiny with { InputWidth = 0 }).Layers());
    }

    [Fact]
    public void AnalyzeRejectsAnInputSizeTheGeneratorCannotBuild()
    {
        NetworkArchitecture s0 = NetworkArchitecture.Preset("s0");
        StateDict sd = Zeros(s0.FusedTensors(), "s0.safetensors");
        var e = Assert.Throws<ConversionException>(() => MobileOneCheckpoint.Analyze(sd, 16, 16));
        Assert.Equal(ConversionErrorKind.NotMobileOne, e.Kind);
        Assert.Contains("the input size 16x16 is outside 32..8192", e.Message, StringComparison.Ordinal);
        Assert.Equal(s0 with { InputHeight = 32, InputWidth = 32 }, MobileOneCheckpoint.Analyze(sd, 32, 32).Architecture);
    }

    // (c) Conversion's inference and the presets agree.
    [Theory]
    [InlineData("s0")]
    [InlineData("s1")]
    [InlineData("s2")]
    [InlineData("s3")]
    [InlineData("s4")]
    public void AnalyzingAPresetsFusedTensorsGivesThePresetBack(string name)
    {
        NetworkArchitecture preset = NetworkArchitecture.Preset(name);
        MobileOneCheckpoint cp = MobileOneCheckpoint.Analyze(Zeros(preset.FusedTensors(), name));
        Assert.Equal(CheckpointForm.Fused, cp.Form);
        Assert.Equal(preset, cp.Architecture);
        Assert.Equal(name, cp.Architecture.Variant);
        Assert.Equal(preset.SeBlocks, cp.Architecture.SeBlocks);
        Assert.Equal(name == "s4" ? new[] { 0, 0, 5, 1 } : new[] { 0, 0, 0, 0 }, cp.Architecture.SeBlocks);
        Assert.Equal(preset.Layers(), cp.Architecture.Layers());
        Assert.Empty(cp.ConvBranches);
    }

    [Theory]
    [InlineData("s0", 4)]
    [InlineData("s1", 4)]
    [InlineData("s2", 1)]
    [InlineData("s3", 1)]
    [InlineData("s4", 1)]
    public void AnalyzingAPresetsTrainTimeTensorsGivesThePresetAndItsK(string name, int k)
    {
        NetworkArchitecture preset = NetworkArchitecture.Preset(name);
        var tensors = MobileOneCheckpoint.ExpectedTensors(preset, CheckpointForm.TrainTime, Branches(preset, k));
        MobileOneCheckpoint cp = MobileOneCheckpoint.Analyze(Zeros(tensors, name));
        Assert.Equal(CheckpointForm.TrainTime, cp.Form);
        Assert.Equal(preset, cp.Architecture);
        Assert.Equal(name, cp.Architecture.Variant);
        Assert.Equal(k, cp.NumConvBranches);
        Assert.Equal(1, cp.ConvBranches["stage0"]);
        Assert.All(cp.ConvBranches.Where(kv => kv.Key != "stage0"), kv => Assert.Equal(k, kv.Value));
    }

    [Fact]
    public void PresetConvBranchesAcceptEveryNameForm()
    {
        Assert.Equal(4, NetworkArchitecture.PresetConvBranches("s0"));
        Assert.Equal(4, NetworkArchitecture.PresetConvBranches("MobileOne-S0")); // was 1: only "s0" was recognised
        Assert.Equal(1, NetworkArchitecture.PresetConvBranches("s3"));
        Assert.Equal(new[] { 0.75, 1.0, 1.0, 2.0 }, NetworkArchitecture.PresetWidthMultipliers("mobileone_s0"));
        Assert.Throws<ArgumentException>(() => NetworkArchitecture.PresetWidthMultipliers("s5"));
    }

    [Fact]
    public void ExpectedTensorsAreTheSharedLists()
    {
        NetworkArchitecture s4 = NetworkArchitecture.Preset("s4");
        Assert.Equal(s4.FusedTensors().Select(t => t.Name), MobileOneCheckpoint.ExpectedTensors(s4, CheckpointForm.Fused).Select(t => t.Name));
        var train = MobileOneCheckpoint.ExpectedTensors(s4, CheckpointForm.TrainTime);
        Assert.Equal(14_951_248L, train.Where(t => !t.Name.EndsWith(".running_mean", StringComparison.Ordinal) && !t.Name.EndsWith(".running_var", StringComparison.Ordinal))
            .Sum(t => ConvTensor.ElementCountOf(t.Shape)));
    }

    // k is one more than the highest branch index a layer's tensors name: a branch missing its conv weight is reported
    // as missing, not its BN tensors as unexpected.
    [Fact]
    public void ABranchMissingItsConvWeightIsReportedMissing()
    {
        NetworkArchitecture s1 = NetworkArchitecture.Preset("s1");
        var tensors = MobileOneCheckpoint.ExpectedTensors(s1, CheckpointForm.TrainTime, Branches(s1, 2)).Where(t => t.Name != "stage2.3.rbr_conv.1.conv.weight");
        var e = Assert.Throws<ConversionException>(() => MobileOneCheckpoint.Analyze(Zeros(tensors, "s1.pth")));
        Assert.Contains("missing tensors (1):\n    stage2.3.rbr_conv.1.conv.weight [192, 192, 1, 1]", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("unexpected", e.Message, StringComparison.Ordinal);
    }

    // Stages are read as the consecutive layers from .0 (the generator's rule): a gap ends the stage, and the message says so.
    [Fact]
    public void AGapInAStageEndsItAndTheMessageNamesTheMissingLayer()
    {
        NetworkArchitecture s0 = NetworkArchitecture.Preset("s0");
        var tensors = s0.FusedTensors().Where(t => !t.Name.StartsWith("stage2.2.", StringComparison.Ordinal))
            .Select(t => (MobileOneCheckpoint.Rename(t.Name, NamingConvention.Timm), t.Shape));
        var e = Assert.Throws<ConversionException>(() => MobileOneCheckpoint.Analyze(Zeros(tensors, "gap.pth")));
        Assert.Contains("blocks [2,1,10,1]", e.Message, StringComparison.Ordinal);
        Assert.Contains("stages.1.3.reparam_conv.weight [128, 128, 1, 1]", e.Message, StringComparison.Ordinal);
        Assert.Contains("note: stage 2 was read as 1 pair(s) because 'stages.1.2.reparam_conv.weight' is missing", e.Message, StringComparison.Ordinal);

        var odd = Assert.Throws<ConversionException>(() => MobileOneCheckpoint.Analyze(Zeros(s0.FusedTensors().Where(t => !t.Name.StartsWith("stage2.7.", StringComparison.Ordinal)), "odd.pth")));
        Assert.Contains("stage 2 has 7 conv layers", odd.Message, StringComparison.Ordinal);
        Assert.Contains("'stage2.7.reparam_conv.weight' is missing", odd.Message, StringComparison.Ordinal);
    }

    // One dtype table: the shared one (with the F8 types, which the conversion library cannot widen).
    [Fact]
    public void DTypeSizesAreTheSharedTableAndF8IsRefusedAsUnsupported()
    {
        Assert.Equal(8, DTypes.Size("F64"));
        Assert.Equal(2, DTypes.Size("BF16"));
        Assert.Equal(1, DTypes.Size("F8_E4M3"));
        Assert.Equal(0, DTypes.Size("F7"));
        Assert.Equal(new[] { 1f, -2f, 0.5f }, DTypes.Widen(new byte[] { 0x00, 0x3C, 0x00, 0xC0, 0x00, 0x38 }, "F16", 3));
        Assert.Equal(new[] { 1f, -2f }, DTypes.Widen(new byte[] { 0x80, 0x3F, 0x00, 0xC0 }, "BF16", 2));
        Assert.Equal(new[] { -3f }, DTypes.Widen(BitConverter.GetBytes(-3.0), "F64", 1));

        byte[] header = Encoding.UTF8.GetBytes("{\"x\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}");
        var file = new byte[8 + header.Length + 2];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        var e = Assert.Throws<ConversionException>(() => Checkpoint.Load(file, "f8.safetensors"));
        Assert.Equal(ConversionErrorKind.InvalidFormat, e.Kind);
        Assert.Contains("F8_E4M3", e.Message, StringComparison.Ordinal);
    }
}
