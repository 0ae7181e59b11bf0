using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using MobileOne.Model;

namespace MobileOne.Conversion;

/// <summary>Kind of a MobileOne conv layer (docs/mobileone.md, "Architecture").</summary>
public enum ConvLayerKind
{
    /// <summary><c>stage0</c>: full 3x3 conv, stride 2, pad 1, groups 1.</summary>
    Stem = LayerType.Stem,

    /// <summary>Even index of a stage: 3x3 depthwise, pad 1, stride 2 for the first pair of a stage.</summary>
    Depthwise = LayerType.Depthwise,

    /// <summary>Odd index of a stage: 1x1 conv, stride 1, groups 1.</summary>
    Pointwise = LayerType.Pointwise,
}

/// <summary>
/// One MobileOne block (a fused conv + optional SE + ReLU, or its train-time branches): the public face of the shared
/// model's <c>LayerShape</c> (src/Shared/Model), whose formulas the computed members use.
/// </summary>
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
    public int Padding => Model.Padding;

    /// <summary>OIHW shape of the conv weight.</summary>
    public int[] WeightShape => Model.WeightShape;

    /// <summary>Whether the train-time block has the 1x1 scale branch (<c>rbr_scale</c>): iff the kernel is larger than 1.</summary>
    public bool HasScaleBranch => Model.HasScaleBranch;

    /// <summary>Whether the train-time block has the BN-only skip branch (<c>rbr_skip</c>): iff Cin = Cout and stride 1.</summary>
    public bool HasSkipBranch => Model.HasSkipBranch;

    /// <summary>Fused conv weight + bias, plus SE weights and biases.</summary>
    public long ParameterCount => Model.ParameterCount;

    /// <summary>Cout·(Cin/g)·k²·Hout·Wout, plus the SE 1x1 convs on the pooled vector.</summary>
    public long Macs => Model.Macs;

    /// <summary>Short description of the operation: <c>conv3x3/2</c>, <c>dwconv3x3/1</c>, <c>pwconv1x1</c>.</summary>
    public string Operation => Kind switch
    {
        ConvLayerKind.Stem => $"conv3x3/{Stride}",
        ConvLayerKind.Depthwise => $"dwconv3x3/{Stride}",
        _ => "pwconv1x1",
    } + (HasSe ? " +SE" : string.Empty);

    /// <summary>The shared model's layer (kernel size and groups follow from <see cref="Kind"/>).</summary>
    private LayerShape Model => new(Name, (LayerType)Kind, InChannels, OutChannels, Stride, InHeight, InWidth, OutHeight, OutWidth, HasSe ? SeReducedChannels : 0);

    internal static ConvLayer From(LayerShape l) => new(l.Name, (ConvLayerKind)l.Type, l.InChannels, l.OutChannels, l.KernelSize, l.Stride, l.Groups,
        l.InHeight, l.InWidth, l.OutHeight, l.OutWidth, l.HasSe, l.SeReduced);
}

/// <summary>
/// A MobileOne's structure: stem (<c>stage0</c>), four stages of (depthwise 3x3, pointwise 1x1) pairs, global average pool,
/// linear. Arrays are indexed by stage 1..4 → [0..3]. The same fields as the architecture JSON (docs/architecture-json.md).
/// The public face of the shared model (src/Shared/Model: <c>NetworkShape</c>, <c>Presets</c>): the presets, the layer
/// walk, the tensor lists, the counts and the limits are its.
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
    public static IReadOnlyList<string> PresetNames => Presets.Names;

    /// <summary>SE hidden width per layer name when the tensors say so (timm's widths can differ from Apple's C/16).</summary>
    public IReadOnlyDictionary<string, int>? SeReducedOverrides { get; init; }

    /// <summary>A published variant at 224x224 with 1000 classes ("s0".."s4", also "mobileone_s1").</summary>
    public static NetworkArchitecture Preset(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        NetworkShape shape = Presets.Get(name) ?? throw new ArgumentException($"Unknown MobileOne variant '{name}' (expected s0..s4).", nameof(name));
        return FromShape(shape);
    }

    /// <summary>Apple's width multipliers α1..α4 of a published variant (the widths are <c>int(α·(64, 128, 256, 512))</c>).</summary>
    public static IReadOnlyList<double> PresetWidthMultipliers(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Presets.WidthMultipliers(name) ?? throw new ArgumentException($"Unknown MobileOne variant '{name}' (expected s0..s4).", nameof(name));
    }

    /// <summary>Number of conv branches k of the published variant's train-time blocks (S0: 4, else 1; the stem always 1).</summary>
    public static int PresetConvBranches(string variant)
    {
        ArgumentNullException.ThrowIfNull(variant);
        return Presets.ConvBranches(variant);
    }

    /// <summary>"s0".."s4" when the structure (not the input size or class count) is a published variant's, else "custom".</summary>
    public string Variant => Presets.Detect(ToShape());

    /// <summary>Default SE width: Apple's <c>int(C * 0.0625)</c>, at least 1 (the generator's rule).</summary>
    public static int DefaultSeReduced(int channels) => NetworkShape.DefaultSeReduced(channels);

    /// <summary>Output size of a 3x3, pad 1 conv.</summary>
    public static int OutSize(int size, int stride) => NetworkShape.OutSize(size, stride);

    /// <summary>
    /// Throws <see cref="ArgumentException"/> when the generator cannot build the structure: the limits of the shared model
    /// (input size 32..8192 a side, at most 65,536 channels, 1,024 blocks a stage, 1,000,000 classes).
    /// </summary>
    public void Validate()
    {
        string? error = ToShape().ValidationError();
        if (error != null)
        {
            throw new ArgumentException($"Not a buildable MobileOne: {error}: {this}");
        }
    }

    /// <summary>
    /// Every conv layer in execution order. The walk needs a walkable structure only (positive sizes, 4 stages, SE blocks
    /// within the blocks), not <see cref="Validate"/>'s limits: the references and the training tests use smaller inputs.
    /// </summary>
    /// <exception cref="ArgumentException">The structure cannot be walked.</exception>
    public IReadOnlyList<ConvLayer> Layers() => ToShape().Layers().Select(ConvLayer.From).ToList();

    /// <summary>In-features of the classifier (the last stage's width).</summary>
    public int FeatureChannels => StageChannels[3];

    /// <summary>Fused parameters: convs, SE, linear.</summary>
    public long ParameterCount => ToShape().ParameterCount;

    /// <summary>Multiply-accumulates of the convs, SE convs and linear (no pooling adds), batch 1.</summary>
    public long Macs => ToShape().Macs;

    /// <summary>
    /// Fused tensors in file order: per layer <c>reparam_conv.weight/bias</c> (+ <c>se.reduce/expand.weight/bias</c>),
    /// then <c>linear.weight/bias</c>; Apple names.
    /// </summary>
    public IReadOnlyList<(string Name, int[] Shape)> FusedTensors() => Tuples(ToShape().FusedTensors());

    /// <summary>
    /// Train-time tensors in file order (k conv-BN branches per layer, <c>rbr_scale</c>, <c>rbr_skip</c>, SE, linear); Apple
    /// names. <paramref name="convBranches"/> gives k per layer name.
    /// </summary>
    internal IReadOnlyList<(string Name, int[] Shape)> TrainTimeTensors(Func<string, int> convBranches) => Tuples(ToShape().TrainTimeTensors(convBranches));

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
    public bool Equals(NetworkArchitecture? other) => other is not null && ToShape().Equals(other.ToShape());

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(InputChannels, InputHeight, InputWidth, StemChannels, NumClasses,
        Join(StageChannels), Join(StageBlocks), Join(SeBlocks));

    /// <inheritdoc/>
    public override string ToString() => ToShape().ToString();

    /// <summary>The shared model's structure (a copy: the arrays of a record can change).</summary>
    internal NetworkShape ToShape() => new(InputChannels, InputHeight, InputWidth, StemChannels,
        StageChannels ?? Array.Empty<int>(), StageBlocks ?? Array.Empty<int>(), SeBlocks ?? Array.Empty<int>(), NumClasses, SeReducedOverrides);

    /// <summary>The public face of a shared-model structure; SE widths are kept as <see cref="SeReducedOverrides"/> when it has any.</summary>
    internal static NetworkArchitecture FromShape(NetworkShape shape) =>
        new(shape.InputChannels, shape.InputHeight, shape.InputWidth, shape.StemChannels, shape.StageChannels.ToArray(), shape.StageBlocks.ToArray(), shape.SeBlocks.ToArray(), shape.NumClasses)
        {
            SeReducedOverrides = shape.SeReducedOverrides.Count == 0 ? null : new Dictionary<string, int>(shape.SeReducedOverrides, StringComparer.Ordinal),
        };

    private static IReadOnlyList<(string Name, int[] Shape)> Tuples(IReadOnlyList<TensorShape> tensors) => tensors.Select(t => (t.Name, t.Shape)).ToList();

    private static string Join(int[] values) => string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture)));
}
