using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace MobileOne.Conversion;

/// <summary>Kind of a MobileOne conv layer (MOBILEONE-SPEC §1.1).</summary>
public enum ConvLayerKind
{
    /// <summary><c>stage0</c>: full 3x3 conv, stride 2, pad 1, groups 1.</summary>
    Stem,

    /// <summary>Even index of a stage: 3x3 depthwise, pad 1, stride 2 for the first pair of a stage.</summary>
    Depthwise,

    /// <summary>Odd index of a stage: 1x1 conv, stride 1, groups 1.</summary>
    Pointwise,
}

/// <summary>One MobileOne block (a fused conv + optional SE + ReLU, or its train-time branches).</summary>
/// <param name="Name">Apple prefix: <c>stage0</c>, <c>stage2.5</c>, …</param>
/// <param name="SeReducedChannels">SE hidden width (0 without SE).</param>
public sealed record ConvLayer(
    string Name,
    ConvLayerKind Kind,
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
    /// <summary>Symmetric zero padding: 1 for 3x3, 0 for 1x1.</summary>
    public int Padding => KernelSize / 2;

    /// <summary>OIHW shape of the conv weight.</summary>
    public int[] WeightShape => new[] { OutChannels, InChannels / Groups, KernelSize, KernelSize };

    /// <summary>Whether the train-time block has the 1x1 scale branch (<c>rbr_scale</c>): iff the kernel is larger than 1.</summary>
    public bool HasScaleBranch => KernelSize > 1;

    /// <summary>Whether the train-time block has the BN-only skip branch (<c>rbr_skip</c>): iff Cin = Cout and stride 1.</summary>
    public bool HasSkipBranch => InChannels == OutChannels && Stride == 1;

    /// <summary>Fused conv weight + bias, plus SE weights and biases.</summary>
    public long ParameterCount =>
        (long)OutChannels * (InChannels / Groups) * KernelSize * KernelSize + OutChannels
        + (HasSe ? 2L * SeReducedChannels * OutChannels + SeReducedChannels + OutChannels : 0);

    /// <summary>Cout·(Cin/g)·k²·Hout·Wout, plus the SE 1x1 convs on the pooled vector.</summary>
    public long Macs =>
        (long)OutChannels * (InChannels / Groups) * KernelSize * KernelSize * OutHeight * OutWidth
        + (HasSe ? 2L * SeReducedChannels * OutChannels : 0);

    /// <summary>Short description of the operation: <c>conv3x3/2</c>, <c>dwconv3x3/1</c>, <c>pwconv1x1</c>.</summary>
    public string Operation => Kind switch
    {
        ConvLayerKind.Stem => $"conv3x3/{Stride}",
        ConvLayerKind.Depthwise => $"dwconv3x3/{Stride}",
        _ => "pwconv1x1",
    } + (HasSe ? " +SE" : string.Empty);
}

/// <summary>
/// A MobileOne's structure: stem (<c>stage0</c>), four stages of (depthwise 3x3, pointwise 1x1) pairs, global average pool,
/// linear. Arrays are indexed by stage 1..4 → [0..3]. The same fields as the architecture JSON (docs/architecture-json.md).
/// </summary>
public sealed record NetworkArchitecture(
    int InputChannels,
    int InputHeight,
    int InputWidth,
    int StemChannels,
    int[] StageChannels,
    int[] StageBlocks,
    int[] SeBlocks,
    int NumClasses)
{
    /// <summary>The published variants.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = new[] { "s0", "s1", "s2", "s3", "s4" };

    /// <summary>SE hidden width per layer name when the tensors say so (timm's widths can differ from Apple's C/16).</summary>
    public IReadOnlyDictionary<string, int>? SeReducedOverrides { get; init; }

    /// <summary>A published variant at 224x224 with 1000 classes ("s0".."s4", also "mobileone_s1").</summary>
    public static NetworkArchitecture Preset(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string key = name.Trim().ToLowerInvariant().Replace("mobileone", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal);
        double[] a = key switch
        {
            "s0" => new[] { 0.75, 1.0, 1.0, 2.0 },
            "s1" => new[] { 1.5, 1.5, 2.0, 2.5 },
            "s2" => new[] { 1.5, 2.0, 2.5, 4.0 },
            "s3" => new[] { 2.0, 2.5, 3.0, 4.0 },
            "s4" => new[] { 3.0, 3.5, 3.5, 4.0 },
            _ => throw new ArgumentException($"Unknown MobileOne variant '{name}' (expected s0..s4).", nameof(name)),
        };
        int[] stages = { (int)(64 * a[0]), (int)(128 * a[1]), (int)(256 * a[2]), (int)(512 * a[3]) };
        int[] se = key == "s4" ? new[] { 0, 0, 5, 1 } : new[] { 0, 0, 0, 0 };
        return new NetworkArchitecture(3, 224, 224, Math.Min(64, stages[0]), stages, new[] { 2, 8, 10, 1 }, se, 1000);
    }

    /// <summary>Number of conv branches k of the published variant's train-time blocks (S0: 4, else 1; the stem always 1).</summary>
    public static int PresetConvBranches(string variant) => variant == "s0" ? 4 : 1;

    /// <summary>"s0".."s4" when the structure (not the input size or class count) is a published variant's, else "custom".</summary>
    public string Variant
    {
        get
        {
            foreach (string name in PresetNames)
            {
                NetworkArchitecture p = Preset(name);
                if (InputChannels == 3 && StemChannels == p.StemChannels && StageChannels.SequenceEqual(p.StageChannels)
                    && StageBlocks.SequenceEqual(p.StageBlocks) && SeBlocks.SequenceEqual(p.SeBlocks))
                {
                    return name;
                }
            }

            return "custom";
        }
    }

    /// <summary>Default SE width: Apple's <c>int(C * 0.0625)</c>, at least 1 (the generator's rule).</summary>
    public static int DefaultSeReduced(int channels) => Math.Max(1, channels / 16);

    /// <summary>Output size of a 3x3, pad 1 conv.</summary>
    public static int OutSize(int size, int stride) => (size + 2 - 3) / stride + 1;

    /// <summary>Throws <see cref="ArgumentException"/> when the structure is not buildable.</summary>
    public void Validate()
    {
        if (InputChannels < 1 || InputHeight < 1 || InputWidth < 1 || StemChannels < 1 || NumClasses < 1)
        {
            throw new ArgumentException($"All sizes must be positive: {this}");
        }

        if (StageChannels is not { Length: 4 } || StageBlocks is not { Length: 4 } || SeBlocks is not { Length: 4 })
        {
            throw new ArgumentException("StageChannels, StageBlocks and SeBlocks must have 4 entries each.");
        }

        for (int s = 0; s < 4; s++)
        {
            if (StageChannels[s] < 1 || StageBlocks[s] < 1 || SeBlocks[s] < 0 || SeBlocks[s] > StageBlocks[s])
            {
                throw new ArgumentException($"Stage {s + 1}: channels and blocks must be ≥ 1 and 0 ≤ seBlocks ≤ blocks: {this}");
            }
        }
    }

    /// <summary>Every conv layer in execution order.</summary>
    public IReadOnlyList<ConvLayer> Layers()
    {
        Validate();
        var layers = new List<ConvLayer>(1 + 2 * StageBlocks.Sum());
        int h = InputHeight, w = InputWidth;
        int ho = OutSize(h, 2), wo = OutSize(w, 2);
        layers.Add(new ConvLayer("stage0", ConvLayerKind.Stem, InputChannels, StemChannels, 3, 2, 1, h, w, ho, wo, false, 0));
        h = ho;
        w = wo;
        int c = StemChannels;
        for (int s = 0; s < 4; s++)
        {
            int n = StageBlocks[s];
            for (int ix = 0; ix < n; ix++)
            {
                int stride = ix == 0 ? 2 : 1;
                bool se = ix >= n - SeBlocks[s];
                ho = OutSize(h, stride);
                wo = OutSize(w, stride);
                string dw = $"stage{s + 1}.{2 * ix}";
                layers.Add(new ConvLayer(dw, ConvLayerKind.Depthwise, c, c, 3, stride, c, h, w, ho, wo, se, se ? SeWidth(dw, c) : 0));
                h = ho;
                w = wo;
                int planes = StageChannels[s];
                string pw = $"stage{s + 1}.{2 * ix + 1}";
                layers.Add(new ConvLayer(pw, ConvLayerKind.Pointwise, c, planes, 1, 1, 1, h, w, h, w, se, se ? SeWidth(pw, planes) : 0));
                c = planes;
            }
        }

        return layers;
    }

    /// <summary>In-features of the classifier (the last stage's width).</summary>
    public int FeatureChannels => StageChannels[3];

    /// <summary>Fused parameters: convs, SE, linear.</summary>
    public long ParameterCount => Layers().Sum(l => l.ParameterCount) + (long)NumClasses * FeatureChannels + NumClasses;

    /// <summary>Multiply-accumulates of the convs, SE convs and linear (no pooling adds), batch 1.</summary>
    public long Macs => Layers().Sum(l => l.Macs) + (long)NumClasses * FeatureChannels;

    /// <summary>
    /// Fused tensors in file order: per layer <c>reparam_conv.weight/bias</c> (+ <c>se.reduce/expand.weight/bias</c>),
    /// then <c>linear.weight/bias</c>; Apple names.
    /// </summary>
    public IReadOnlyList<(string Name, int[] Shape)> FusedTensors()
    {
        var list = new List<(string, int[])>();
        foreach (ConvLayer l in Layers())
        {
            list.Add((l.Name + ".reparam_conv.weight", l.WeightShape));
            list.Add((l.Name + ".reparam_conv.bias", new[] { l.OutChannels }));
            AddSe(list, l);
        }

        list.Add(("linear.weight", new[] { NumClasses, FeatureChannels }));
        list.Add(("linear.bias", new[] { NumClasses }));
        return list;
    }

    /// <summary>The SE tensors of a layer (none without SE).</summary>
    internal static void AddSe(List<(string, int[])> list, ConvLayer l)
    {
        if (l.HasSe)
        {
            int c = l.OutChannels, r = l.SeReducedChannels;
            list.Add((l.Name + ".se.reduce.weight", new[] { r, c, 1, 1 }));
            list.Add((l.Name + ".se.reduce.bias", new[] { r }));
            list.Add((l.Name + ".se.expand.weight", new[] { c, r, 1, 1 }));
            list.Add((l.Name + ".se.expand.bias", new[] { c }));
        }
    }

    /// <summary>
    /// The architecture JSON (docs/architecture-json.md) with every structural field, the input size and, for a published
    /// variant, its name: what <c>mobileone fuse</c> stores under <c>__metadata__["mobileone.architecture"]</c>; optionally
    /// the normalisation (<paramref name="mean"/> and <paramref name="std"/> together) and the class labels.
    /// </summary>
    public string ToJson(IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null, IReadOnlyList<string>? labels = null)
    {
        var sb = new StringBuilder("{");
        string variant = Variant;
        if (variant != "custom")
        {
            sb.Append("\"variant\": \"").Append(variant).Append("\", ");
        }

        sb.Append(CultureInfo.InvariantCulture, $"\"inputChannels\": {InputChannels}, \"inputSize\": [{InputHeight}, {InputWidth}], ");
        sb.Append(CultureInfo.InvariantCulture, $"\"stemChannels\": {StemChannels}, \"stageChannels\": [{Join(StageChannels)}], ");
        sb.Append(CultureInfo.InvariantCulture, $"\"stageBlocks\": [{Join(StageBlocks)}], \"seBlocks\": [{Join(SeBlocks)}], \"numClasses\": {NumClasses}");
        if (mean != null && std != null)
        {
            sb.Append(", \"mean\": [").Append(string.Join(", ", mean.Select(x => x.ToString("R", CultureInfo.InvariantCulture))))
              .Append("], \"std\": [").Append(string.Join(", ", std.Select(x => x.ToString("R", CultureInfo.InvariantCulture)))).Append(']');
        }

        if (labels != null)
        {
            sb.Append(", \"labels\": [").Append(string.Join(", ", labels.Select(l => System.Text.Json.JsonSerializer.Serialize(l)))).Append(']');
        }

        return sb.Append('}').ToString();
    }

    /// <inheritdoc/>
    public bool Equals(NetworkArchitecture? other) =>
        other is not null
        && InputChannels == other.InputChannels && InputHeight == other.InputHeight && InputWidth == other.InputWidth
        && StemChannels == other.StemChannels && NumClasses == other.NumClasses
        && StageChannels.AsSpan().SequenceEqual(other.StageChannels)
        && StageBlocks.AsSpan().SequenceEqual(other.StageBlocks)
        && SeBlocks.AsSpan().SequenceEqual(other.SeBlocks)
        && Layers().SequenceEqual(other.Layers());

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(InputChannels, InputHeight, InputWidth, StemChannels, NumClasses,
        Join(StageChannels), Join(StageBlocks), Join(SeBlocks));

    /// <inheritdoc/>
    public override string ToString() =>
        $"MobileOne(in {InputChannels}x{InputHeight}x{InputWidth}, stem {StemChannels}, " +
        $"stages [{string.Join(",", StageChannels)}], blocks [{string.Join(",", StageBlocks)}], " +
        $"se [{string.Join(",", SeBlocks)}], {NumClasses} classes)";

    private int SeWidth(string layer, int channels) =>
        SeReducedOverrides != null && SeReducedOverrides.TryGetValue(layer, out int r) ? r : DefaultSeReduced(channels);

    private static string Join(int[] values) => string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture)));
}
