// Kernels/Int8: weight packing for the INT8 kernels; the folder's files are listed at the top of PointwiseConvInt8.cs.
using System;

namespace MobileOne.Runtime;

/// <summary>
/// Packs int8 weights (docs/quantization.md) for <see cref="PointwiseConvInt8"/> and <see cref="DepthwiseConv3x3Int8"/>,
/// and checks the pair rule that the AVX2 and AVX-512BW pointwise paths rely on (<see cref="FindPairOverflow"/>).
/// </summary>
public static class Int8Packing
{
    /// <summary>
    /// The largest magnitude a pair's same-sign weights may sum to: <c>vpmaddubsw</c> adds two u8 x s8 products into a
    /// saturating int16, and 255 x 128 = 32,640 &lt;= 32,767.
    /// </summary>
    public const int MaxPairSum = MobileOne.Model.QuantizationScheme.MaxPairSum;

    /// <summary>Bytes of a packed pointwise weight: <c>RoundUp16(outChannels) * RoundUp16(inChannels)</c>.</summary>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="inChannels">Input channels.</param>
    /// <returns>The packed length in bytes.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A count is below 1.</exception>
    /// <exception cref="OverflowException">The size exceeds <c>int.MaxValue</c>.</exception>
    public static int PackedPointwiseLength(int outChannels, int inChannels)
    {
        KernelArguments.Positive(outChannels, nameof(outChannels));
        KernelArguments.Positive(inChannels, nameof(inChannels));
        return checked(PackedSize.RoundUp16(outChannels) * PackedSize.RoundUp16(inChannels));
    }

    /// <summary>
    /// Packs a pointwise weight <c>[out][in]</c> (row-major, as the file's <c>[out, in, 1, 1]</c>) into
    /// <c>[CoutP/16][CinP/4][16][4]</c>: for each block of 16 output channels and each step of 4 input channels, the 4
    /// weights of one output channel are 4 consecutive bytes (one <c>vpdpbusd</c> / <c>vpmaddubsw</c> lane), so a step of
    /// a block is 64 bytes (one zmm or two ymm). Padding entries are 0. The weights are not checked here: call
    /// <see cref="FindPairOverflow"/> first (the loader does).
    /// </summary>
    /// <param name="weights">Exactly <c>outChannels * inChannels</c> weights.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="packed">At least <see cref="PackedPointwiseLength"/> bytes; that many are written.</param>
    /// <exception cref="ArgumentException">A span has the wrong length (the exception names it).</exception>
    public static void PackPointwise(ReadOnlySpan<sbyte> weights, int outChannels, int inChannels, Span<sbyte> packed)
    {
        int length = PackedPointwiseLength(outChannels, inChannels);
        KernelArguments.ExactLength(weights, (long)outChannels * inChannels, nameof(weights));
        KernelArguments.Length<sbyte>(packed, length, nameof(packed));
        int steps = PackedSize.RoundUp16(inChannels) / 4;
        packed.Slice(0, length).Clear();
        for (int o = 0; o < outChannels; o++)
        {
            int blockStart = o / 16 * steps * 64;
            int lane = (o % 16) * 4;
            for (int i = 0; i < inChannels; i++)
            {
                packed[blockStart + (i / 4 * 64) + lane + (i % 4)] = weights[(o * inChannels) + i];
            }
        }
    }

    /// <summary>Floats of a packed depthwise weight: <c>9 * RoundUp16(channels)</c> (the FP32 depthwise size).</summary>
    /// <param name="channels">Channels.</param>
    /// <returns>The packed length in floats.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="channels"/> is below 1.</exception>
    public static int PackedDepthwiseLength(int channels)
    {
        KernelArguments.Positive(channels, nameof(channels));
        return PackedSize.Depthwise(channels);
    }

    /// <summary>
    /// Packs a depthwise weight <c>[C][3][3]</c> (the file's <c>[C, 1, 3, 3]</c>) as integer-valued floats in the FP32
    /// depthwise layout <c>[9][CP]</c> (tap <c>ky*3+kx</c> major, channel minor; padding 0): the INT8 depthwise kernel
    /// computes in float on exact integers.
    /// </summary>
    /// <param name="weights">Exactly <c>9 * channels</c> weights.</param>
    /// <param name="channels">Channels.</param>
    /// <param name="packed">At least <see cref="PackedDepthwiseLength"/> floats; that many are written.</param>
    /// <exception cref="ArgumentException">A span has the wrong length (the exception names it).</exception>
    public static void PackDepthwise(ReadOnlySpan<sbyte> weights, int channels, Span<float> packed)
    {
        int length = PackedDepthwiseLength(channels);
        KernelArguments.ExactLength(weights, 9L * channels, nameof(weights));
        KernelArguments.Length<float>(packed, length, nameof(packed));
        int cp = PackedSize.RoundUp16(channels);
        packed.Slice(0, length).Clear();
        for (int c = 0; c < channels; c++)
        {
            for (int t = 0; t < 9; t++)
            {
                packed[(t * cp) + c] = weights[(c * 9) + t];
            }
        }
    }

    /// <summary>
    /// Finds the first weight pair that breaks the pair rule (docs/quantization.md, "Pairs"): for output channel
    /// <c>o</c> and input channels <c>(2j, 2j+1)</c> (a last odd channel pairs with a zero), the positive weights must sum
    /// to at most <see cref="MaxPairSum"/> and the negative ones to at least <c>-MaxPairSum</c>, so that the AVX2 and
    /// AVX-512BW paths (<c>vpmaddubsw</c>, a saturating int16 sum of two u8 x s8 products) cannot saturate on activations
    /// up to 255. A pair holding -128 is reported too (int8 weights are symmetric, [-127, 127]).
    /// </summary>
    /// <param name="weights">Exactly <c>outChannels * inChannels</c> weights, <c>[out][in]</c> row-major.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="inChannels">Input channels.</param>
    /// <returns>The output channel and pair index <c>j</c> of the first violation in row-major order, or <c>(-1, -1)</c> when there is none.</returns>
    /// <exception cref="ArgumentException"><paramref name="weights"/> has the wrong length.</exception>
    public static (int OutChannel, int Pair) FindPairOverflow(ReadOnlySpan<sbyte> weights, int outChannels, int inChannels)
    {
        KernelArguments.Positive(outChannels, nameof(outChannels));
        KernelArguments.Positive(inChannels, nameof(inChannels));
        KernelArguments.ExactLength(weights, (long)outChannels * inChannels, nameof(weights));
        // The one implementation of the rule, shared with the generator's build-time check and the quantizer.
        return MobileOne.Model.QuantizationScheme.FindPairOverflow(weights, outChannels, inChannels);
    }
}
