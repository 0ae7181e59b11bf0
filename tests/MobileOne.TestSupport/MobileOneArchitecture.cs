using System;
using System.Collections.Generic;
using System.Linq;

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
    public int Padding => KernelSize / 2;

    /// <summary>OIHW shape of <c>reparam_conv.weight</c>.</summary>
    public int[] WeightShape => new[] { OutChannels, InChannels / Groups, KernelSize, KernelSize };

    /// <summary>Conv weight + bias, plus SE reduce/expand weights and biases.</summary>
    public long ParameterCount =>
        (long)OutChannels * (InChannels / Groups) * KernelSize * KernelSize + OutChannels
        + (HasSe ? 2L * SeReducedChannels * OutChannels + SeReducedChannels + OutChannels : 0);

    /// <summary>Cout·(Cin/g)·k²·Hout·Wout, plus the two SE 1x1 convs on the pooled vector (R·C each).</summary>
    public long Macs =>
        (long)OutChannels * (InChannels / Groups) * KernelSize * KernelSize * OutHeight * OutWidth
        + (HasSe ? 2L * SeReducedChannels * OutChannels : 0);
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
    public static IReadOnlyList<string> PresetNames { get; } = new[] { "s0", "s1", "s2", "s3", "s4" };

    /// <summary>Apple <c>PARAMS</c> width multipliers α1..α4 (spec §1.2).</summary>
    public static IReadOnlyList<double> WidthMultipliers(string preset) => NormalizePreset(preset) switch
    {
        "s0" => new[] { 0.75, 1.0, 1.0, 2.0 },
        "s1" => new[] { 1.5, 1.5, 2.0, 2.5 },
        "s2" => new[] { 1.5, 2.0, 2.5, 4.0 },
        "s3" => new[] { 2.0, 2.5, 3.0, 4.0 },
        "s4" => new[] { 3.0, 3.5, 3.5, 4.0 },
        _ => throw new ArgumentException($"Unknown MobileOne preset '{preset}' (expected s0..s4).", nameof(preset)),
    };

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
        string key = NormalizePreset(name);
        IReadOnlyList<double> a = WidthMultipliers(key);
        int[] stages =
        {
            (int)(64 * a[0]), (int)(128 * a[1]), (int)(256 * a[2]), (int)(512 * a[3]),
        };
        int stem = Math.Min(64, (int)(64 * a[0]));
        int[] se = key == "s4" ? new[] { 0, 0, 10 / 2, 1 } : new[] { 0, 0, 0, 0 };
        return new MobileOneArchitecture(3, 224, 224, stem, stages, new[] { 2, 8, 10, 1 }, se, 1000);
    }

    private static string NormalizePreset(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string k = name.Trim().ToLowerInvariant().Replace("mobileone", "", StringComparison.Ordinal)
            .Replace("_", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal);
        return k;
    }

    /// <summary>
    /// SE hidden width. Apple: <c>int(C * 0.0625)</c> (= C / 16 exactly); for custom nets with C &lt; 16 this
    /// would be 0, so we use <c>max(1, C / 16)</c>. (timm's <c>make_divisible(C/16, 8)</c> only agrees when C is a
    /// multiple of 128, which holds for all presets.)
    /// </summary>
    public static int SeReduced(int channels) => Math.Max(1, channels / 16);

    /// <summary>Throws <see cref="ArgumentException"/> when the architecture is not buildable.</summary>
    public void Validate()
    {
        if (InputChannels < 1 || InputHeight < 1 || InputWidth < 1 || StemChannels < 1 || NumClasses < 1)
            throw new ArgumentException($"All sizes must be positive: {this}");
        if (StageChannels is not { Length: 4 } || StageBlocks is not { Length: 4 } || SeBlocks is not { Length: 4 })
            throw new ArgumentException("StageChannels, StageBlocks and SeBlocks must have 4 entries each.");
        for (int s = 0; s < 4; s++)
        {
            if (StageChannels[s] < 1) throw new ArgumentException($"StageChannels[{s}] must be ≥ 1.");
            if (StageBlocks[s] < 1) throw new ArgumentException($"StageBlocks[{s}] must be ≥ 1.");
            if (SeBlocks[s] < 0 || SeBlocks[s] > StageBlocks[s])
                throw new ArgumentException($"SeBlocks[{s}] must be in [0, StageBlocks[{s}]].");
        }
    }

    /// <summary>Every conv layer in execution order (stem, then per stage dw/pw pairs).</summary>
    public IReadOnlyList<LayerInfo> Layers()
    {
        Validate();
        var layers = new List<LayerInfo>(1 + 2 * StageBlocks.Sum());
        int h = InputHeight, w = InputWidth;
        int ho = OutSize(h, 2), wo = OutSize(w, 2);
        layers.Add(new LayerInfo("stage0", LayerKind.Stem, InputChannels, StemChannels, 3, 2, 1, h, w, ho, wo, false, 0));
        h = ho; w = wo;
        int c = StemChannels;
        for (int s = 0; s < 4; s++)
        {
            int n = StageBlocks[s];
            for (int ix = 0; ix < n; ix++)
            {
                int stride = ix == 0 ? 2 : 1;
                bool se = ix >= n - SeBlocks[s];
                ho = OutSize(h, stride); wo = OutSize(w, stride);
                layers.Add(new LayerInfo($"stage{s + 1}.{2 * ix}", LayerKind.Depthwise, c, c, 3, stride, c,
                    h, w, ho, wo, se, se ? SeReduced(c) : 0));
                h = ho; w = wo;
                int planes = StageChannels[s];
                layers.Add(new LayerInfo($"stage{s + 1}.{2 * ix + 1}", LayerKind.Pointwise, c, planes, 1, 1, 1,
                    h, w, h, w, se, se ? SeReduced(planes) : 0));
                c = planes;
            }
        }
        return layers;
    }

    /// <summary>Output size of a pad-1 3x3 conv: (size + 2 - 3) / stride + 1.</summary>
    public static int OutSize(int size, int stride) => (size + 2 - 3) / stride + 1;

    /// <summary>In-features of the linear head (= stage 4 width).</summary>
    public int FeatureChannels => StageChannels[3];

    /// <summary>Number of floats of the CHW input.</summary>
    public int InputLength => InputChannels * InputHeight * InputWidth;

    /// <summary>Fused parameter count (convs, SE, linear).</summary>
    public long ParameterCount => Layers().Sum(l => l.ParameterCount) + (long)NumClasses * FeatureChannels + NumClasses;

    /// <summary>Multiply-accumulates of convs + SE 1x1 convs + linear (no pooling adds), batch 1.</summary>
    public long Macs => Layers().Sum(l => l.Macs) + (long)NumClasses * FeatureChannels;

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
