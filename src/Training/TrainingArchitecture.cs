using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using MobileOne.Conversion;

namespace MobileOne.Training;

/// <summary>Kind of a MobileOne block.</summary>
public enum BlockKind
{
    /// <summary><c>stage0</c>: full 3x3 conv, stride 2.</summary>
    Stem,

    /// <summary>Depthwise 3x3 (groups = C), stride 2 for the first pair of a stage.</summary>
    Depthwise,

    /// <summary>Pointwise 1x1, stride 1.</summary>
    Pointwise,
}

/// <summary>One train-time MobileOneBlock: where it sits and which branches it has (docs/mobileone.md, "Fusion").</summary>
/// <param name="Name">Apple prefix, e.g. <c>stage0</c>, <c>stage2.5</c>.</param>
/// <param name="ConvBranches">k: number of conv-BN branches (the stem always has 1).</param>
/// <param name="SeReduced">SE hidden width, 0 without SE.</param>
public sealed record BlockInfo(string Name, BlockKind Kind, int InChannels, int OutChannels, int Stride,
    int InHeight, int InWidth, int OutHeight, int OutWidth, int ConvBranches, int SeReduced)
{
    /// <summary>Kernel size of the conv branches.</summary>
    public int KernelSize => Kind == BlockKind.Pointwise ? 1 : 3;

    /// <summary>The 1x1 scale branch exists iff the kernel is larger than 1x1.</summary>
    public bool HasScale => KernelSize > 1;

    /// <summary>The BN-only skip exists iff Cin == Cout and stride 1.</summary>
    public bool HasSkip => InChannels == OutChannels && Stride == 1;

    /// <summary>Whether the block carries squeeze-excite.</summary>
    public bool HasSe => SeReduced > 0;

    /// <summary>Input channels per group of the conv weight (1 for depthwise).</summary>
    public int WeightInChannels => Kind == BlockKind.Depthwise ? 1 : InChannels;
}

/// <summary>
/// A MobileOne for training: stem, four stages of (depthwise, pointwise) pairs, global average pool, linear —
/// the fused architecture of the generator plus <see cref="ConvBranches"/> (k) for the train-time blocks.
/// Stem and stage widths must be multiples of 16 (the runtime's NHWC-16 kernels run the forward convs).
/// </summary>
public sealed record TrainingArchitecture(
    int InputChannels, int InputHeight, int InputWidth, int StemChannels,
    int[] StageChannels, int[] StageBlocks, int[] SeBlocks, int NumClasses, int ConvBranches)
{
    /// <summary>Fashion-MNIST class names, in label order.</summary>
    public static IReadOnlyList<string> FashionMnistLabels { get; } = new[]
    {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    };

    /// <summary>
    /// The Fashion-MNIST net: MobileOne-S0's shape (4 conv branches, no SE, stem width = stage 1 width, stage 4 twice
    /// stage 3) scaled to a 1x32x32 input and a 2-core training budget.
    /// </summary>
    public static TrainingArchitecture FashionMnist(int convBranches = 4) =>
        new(1, 32, 32, 32, new[] { 32, 64, 128, 256 }, new[] { 2, 3, 4, 1 }, new[] { 0, 0, 0, 0 }, 10, convBranches);

    /// <summary>Output size of a pad-1 3x3 conv.</summary>
    public static int OutSize(int size, int stride) => NetworkArchitecture.OutSize(size, stride);

    /// <summary>Throws when the architecture cannot be trained here.</summary>
    public void Validate()
    {
        if (InputChannels < 1 || InputHeight < 1 || InputWidth < 1 || NumClasses < 1 || ConvBranches < 1)
        {
            throw new ArgumentException($"All sizes must be positive: {this}");
        }

        if (StageChannels is not { Length: 4 } || StageBlocks is not { Length: 4 } || SeBlocks is not { Length: 4 })
        {
            throw new ArgumentException("StageChannels, StageBlocks and SeBlocks need 4 entries each.");
        }

        if (StemChannels % 16 != 0 || StageChannels.Any(c => c < 16 || c % 16 != 0))
        {
            throw new ArgumentException("Stem and stage widths must be positive multiples of 16.");
        }

        for (int s = 0; s < 4; s++)
        {
            if (StageBlocks[s] < 1 || SeBlocks[s] < 0 || SeBlocks[s] > StageBlocks[s])
            {
                throw new ArgumentException($"Stage {s + 1}: need StageBlocks >= 1 and 0 <= SeBlocks <= StageBlocks.");
            }
        }
    }

    /// <summary>Every block in execution order: the fused network's layers (MobileOne.Conversion) with k branches.</summary>
    public IReadOnlyList<BlockInfo> Blocks()
    {
        Validate();
        return Fused.Layers().Select(l => new BlockInfo(
            l.Name,
            l.Kind switch { ConvLayerKind.Stem => BlockKind.Stem, ConvLayerKind.Depthwise => BlockKind.Depthwise, _ => BlockKind.Pointwise },
            l.InChannels, l.OutChannels, l.Stride, l.InHeight, l.InWidth, l.OutHeight, l.OutWidth,
            l.Kind == ConvLayerKind.Stem ? 1 : ConvBranches,
            l.HasSe ? l.SeReducedChannels : 0)).ToList();
    }

    /// <summary>Floats of one CHW input image.</summary>
    public int InputLength => InputChannels * InputHeight * InputWidth;

    /// <summary>Width of the features entering the linear head.</summary>
    public int FeatureChannels => StageChannels[3];

    /// <summary>The fused network this trains into (MobileOne.Conversion's description of it).</summary>
    public NetworkArchitecture Fused => new(InputChannels, InputHeight, InputWidth, StemChannels, StageChannels, StageBlocks, SeBlocks, NumClasses);

    /// <summary>
    /// The architecture JSON of docs/architecture-json.md (what goes into the fused file's
    /// <c>mobileone.architecture</c> metadata), with optional normalisation and labels.
    /// </summary>
    public string ToArchitectureJson(IReadOnlyList<float>? mean = null, IReadOnlyList<float>? std = null, IReadOnlyList<string>? labels = null) =>
        Fused.ToJson(mean, std, labels);

    /// <inheritdoc/>
    public bool Equals(TrainingArchitecture? other) =>
        other is not null && InputChannels == other.InputChannels && InputHeight == other.InputHeight && InputWidth == other.InputWidth
        && StemChannels == other.StemChannels && NumClasses == other.NumClasses && ConvBranches == other.ConvBranches
        && StageChannels.AsSpan().SequenceEqual(other.StageChannels) && StageBlocks.AsSpan().SequenceEqual(other.StageBlocks)
        && SeBlocks.AsSpan().SequenceEqual(other.SeBlocks);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(InputChannels, InputHeight, InputWidth, StemChannels, NumClasses, ConvBranches, StageChannels.Sum(), StageBlocks.Sum());

    /// <inheritdoc/>
    public override string ToString() =>
        FormattableString.Invariant($"{InputChannels}x{InputHeight}x{InputWidth}, stem {StemChannels}, stages [{string.Join(",", StageChannels)}] x [{string.Join(",", StageBlocks)}], SE [{string.Join(",", SeBlocks)}], {NumClasses} classes, k = {ConvBranches}");
}
