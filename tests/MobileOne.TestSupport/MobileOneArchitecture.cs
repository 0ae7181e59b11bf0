using System;
using System.Collections.Generic;
using System.Linq;
using MobileOne.Conversion;

namespace MobileOne.TestSupport;

/// <summary>Kind of a fused MobileOne conv layer.</summary>
public enum LayerKind
{
    /// <summary><c>stage0</c>: full 3x3 conv, stride 2, pad 1, groups 1.</summary>
    Stem,

    /// <summary>Even index of a stage: 3x3 depthwise conv (groups = C), pad 1, stride 2 for the first pair of a stage.</summary>
    Depthwise,

    /// <summary>Odd index of a stage: 1x1 conv, stride 1, pad 0, groups 1.</summary>
    Pointwise,
}

/// <summary>One fused conv layer (conv + optional SE + ReLU) of a MobileOne network.</summary>
/// <param name="Name">Apple prefix, e.g. <c>stage0</c>, <c>stage2.5</c>.</param>
/// <param name="SeReducedChannels">R of the SE block (0 when <paramref name="HasSe"/> is false).</param>
public sealed record LayerInfo(
    string Name,
    LayerKind Kind,
    int InChannels,
    int OutChannels,
    int KernelSize,
    int Stride,
    int Groups,
    int InHeight,
    int InWidth,
    int OutHeight,
    int OutWidth,
    bool HasSe,
    int SeReducedChannels)
{
    /// <summary>Symmetric zero padding (1 for 3x3, 0 for 1x1).</summary>
    public int Padding => Layer.Padding;

    /// <summary>OIHW shape of <c>reparam_conv.weight</c>.</summary>
    public int[] WeightShape => Layer.WeightShape;

    /// <summary>Conv weight + bias, plus SE reduce/expand weights and biases.</summary>
    public long ParameterCount => Layer.ParameterCount;

    /// <summary>Cout·(Cin/g)·k²·Hout·Wout, plus the two SE 1x1 convs on the pooled vector (R·C each).</summary>
    public long Macs => Layer.Macs;

    /// <summary>The layer in MobileOne.Conversion's terms, whose formulas the members above use.</summary>
    private ConvLayer Layer => new(Name, (ConvLayerKind)Kind, InChannels, OutChannels, KernelSize, Stride, Groups,
        InHeight, InWidth, OutHeight, OutWidth, HasSe, SeReducedChannels);

    internal static LayerInfo From(ConvLayer l) => new(l.Name, (LayerKind)l.Kind, l.InChannels, l.OutChannels, l.KernelSize, l.Stride, l.Groups,
        l.InHeight, l.InWidth, l.OutHeight, l.OutWidth, l.HasSe, l.SeReducedChannels);
}

/// <summary>
/// Inference-time (fused) MobileOne architecture: stem (<c>stage0</c>) + four stages of (depthwise 3x3, pointwise 1x1)
/// pairs + global average pool + linear. Arrays are indexed by stage 1..4 → [0..3].
/// </summary>
/// <param name="StemChannels">Output width of <c>stage0</c>.</param>
/// <param name="StageChannels">Output width of each of the four stages.</param>
/// <param name="StageBlocks">Number of (depthwise, pointwise) pairs per stage (each ≥ 1).</param>
/// <param name="SeBlocks">Number of trailing pairs per stage whose two layers both carry SE.</param>
public sealed record MobileOneArchitecture(
    int InputChannels,
    int InputHeight,
    int InputWidth,
    int StemChannels,
    int[] StageChannels,
    int[] StageBlocks,
    int[] SeBlocks,
    int NumClasses)
{
    /// <summary>Names accepted by <see cref="Preset"/>.</summary>
    public static IReadOnlyList<string> PresetNames => NetworkArchitecture.PresetNames;

    /// <summary>Apple <c>PARAMS</c> width multipliers α1..α4 (docs/mobileone.md, "The five variants").</summary>
    public static IReadOnlyList<double> WidthMultipliers(string preset) => NetworkArchitecture.PresetWidthMultipliers(preset);

    /// <summary>MobileOne-S0 (224x224, 1000 classes).</summary>
    public static MobileOneArchitecture S0() => Preset("s0");

    /// <summary>MobileOne-S1 (224x224, 1000 classes).</summary>
    public static MobileOneArchitecture S1() => Preset("s1");

    /// <summary>MobileOne-S2 (224x224, 1000 classes).</summary>
    public static MobileOneArchitecture S2() => Preset("s2");

    /// <summary>MobileOne-S3 (224x224, 1000 classes).</summary>
    public static MobileOneArchitecture S3() => Preset("s3");

    /// <summary>MobileOne-S4 (224x224, 1000 classes, SE on the last 5 pairs of stage 3 and the pair of stage 4).</summary>
    public static MobileOneArchitecture S4() => Preset("s4");

    /// <summary>Preset by name: "s0".."s4", case-insensitive, "mobileone_s1" / "MobileOne-S1" also accepted.</summary>
    public static MobileOneArchitecture Preset(string name)
    {
        NetworkArchitecture p = NetworkArchitecture.Preset(name);
        return new MobileOneArchitecture(p.InputChannels, p.InputHeight, p.InputWidth, p.StemChannels, p.StageChannels, p.StageBlocks, p.SeBlocks, p.NumClasses);
    }

    /// <summary>
    /// SE hidden width. Apple: <c>int(C * 0.0625)</c> (= C / 16 exactly); for custom nets with C &lt; 16 this
    /// would be 0, so we use <c>max(1, C / 16)</c>. (timm's <c>make_divisible(C/16, 8)</c> only agrees when C is a
    /// multiple of 128, which holds for all presets.)
    /// </summary>
    public static int SeReduced(int channels) => NetworkArchitecture.DefaultSeReduced(channels);

    /// <summary>
    /// Throws <see cref="ArgumentException"/> when the layer walk is impossible (sizes below 1, stage arrays without 4 entries,
    /// SE blocks outside 0..blocks). Inputs below the generator's 32 pixels are allowed: the references run them.
    /// </summary>
    public void Validate() => _ = ToConversion().Layers();

    /// <summary>Every conv layer in execution order (stem, then per stage dw/pw pairs): MobileOne.Conversion's walk.</summary>
    public IReadOnlyList<LayerInfo> Layers() => ToConversion().Layers().Select(LayerInfo.From).ToList();

    /// <summary>Output size of a pad-1 3x3 conv: (size + 2 - 3) / stride + 1.</summary>
    public static int OutSize(int size, int stride) => NetworkArchitecture.OutSize(size, stride);

    /// <summary>In-features of the linear head (= stage 4 width).</summary>
    public int FeatureChannels => StageChannels[3];

    /// <summary>Number of floats of the CHW input.</summary>
    public int InputLength => InputChannels * InputHeight * InputWidth;

    /// <summary>Fused parameter count (convs, SE, linear).</summary>
    public long ParameterCount => ToConversion().ParameterCount;

    /// <summary>Multiply-accumulates of convs + SE 1x1 convs + linear (no pooling adds), batch 1.</summary>
    public long Macs => ToConversion().Macs;

    /// <summary>The architecture in MobileOne.Conversion's terms (arrays copied).</summary>
    public NetworkArchitecture ToConversion() => new(InputChannels, InputHeight, InputWidth, StemChannels,
        (int[])StageChannels?.Clone()!, (int[])StageBlocks?.Clone()!, (int[])SeBlocks?.Clone()!, NumClasses);

    /// <inheritdoc/>
    public bool Equals(MobileOneArchitecture? other) =>
        other is not null
        && InputChannels == other.InputChannels && InputHeight == other.InputHeight && InputWidth == other.InputWidth
        && StemChannels == other.StemChannels && NumClasses == other.NumClasses
        && StageChannels.AsSpan().SequenceEqual(other.StageChannels)
        && StageBlocks.AsSpan().SequenceEqual(other.StageBlocks)
        && SeBlocks.AsSpan().SequenceEqual(other.SeBlocks);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(InputChannels, InputHeight, InputWidth, StemChannels, NumClasses,
        string.Join(",", StageChannels), string.Join(",", StageBlocks), string.Join(",", SeBlocks));

    /// <inheritdoc/>
    public override string ToString() =>
        $"MobileOne(in {InputChannels}x{InputHeight}x{InputWidth}, stem {StemChannels}, " +
        $"stages [{string.Join(",", StageChannels)}], blocks [{string.Join(",", StageBlocks)}], " +
        $"se [{string.Join(",", SeBlocks)}], {NumClasses} classes)";
}
