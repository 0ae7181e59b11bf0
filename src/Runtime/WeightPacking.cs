using System;
using System.Collections.Generic;
using MobileOne.Model;

namespace MobileOne.Runtime;

/// <summary>
/// Sizes, in floats, of the packed weight regions described in <c>docs/design.md</c>. Every size is a multiple
/// of 16, so regions laid out back to back each start on a 64-byte boundary. The sizes are the shared model's
/// (<see cref="PackedLayout"/>, the one table the generator plans the packed buffer with); this class checks the
/// arguments and that each size fits an <see cref="int"/>.
/// </summary>
public static class PackedSize
{
    /// <summary>Rounds <paramref name="n"/> up to a multiple of 16 (the padded channel count "CP").</summary>
    /// <param name="n">A non-negative count.</param>
    /// <returns><c>RoundUp(n, 16)</c>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is negative or above <c>int.MaxValue - 15</c>.</exception>
    public static int RoundUp16(int n) => (int)PackedLayout.RoundUp16(Count(n, nameof(n)));

    /// <summary>Stem 3x3 weight <c>[CoutP/16][Cin][3][3][16]</c>: <c>CoutP * Cin * 9</c> floats.</summary>
    /// <param name="cout">Output channels.</param>
    /// <param name="cin">Input channels.</param>
    /// <returns>The packed float count.</returns>
    /// <exception cref="OverflowException">The size exceeds <c>int.MaxValue</c>.</exception>
    public static int Stem(int cout, int cin) => ToInt(PackedLayout.Stem(Count(cout, nameof(cout)), NonNegative(cin, nameof(cin))));

    /// <summary>Depthwise 3x3 weight <c>[9][CP]</c>: <c>9 * CP</c> floats.</summary>
    /// <param name="channels">Channels.</param>
    /// <returns>The packed float count.</returns>
    /// <exception cref="OverflowException">The size exceeds <c>int.MaxValue</c>.</exception>
    public static int Depthwise(int channels) => ToInt(PackedLayout.Depthwise(Count(channels, nameof(channels))));

    /// <summary>Pointwise 1x1 weight <c>[CoutP/16][Cin][16]</c>: <c>CoutP * Cin</c> floats.</summary>
    /// <param name="cout">Output channels.</param>
    /// <param name="cin">Input channels.</param>
    /// <returns>The packed float count.</returns>
    /// <exception cref="OverflowException">The size exceeds <c>int.MaxValue</c>.</exception>
    public static int Pointwise(int cout, int cin) => ToInt(PackedLayout.Pointwise(Count(cout, nameof(cout)), NonNegative(cin, nameof(cin))));

    /// <summary>Any bias <c>[RoundUp(n, 16)]</c>.</summary>
    /// <param name="n">Bias length.</param>
    /// <returns>The packed float count.</returns>
    public static int Bias(int n) => ToInt(PackedLayout.Bias(Count(n, nameof(n))));

    /// <summary>Squeeze-excite reduce weight <c>[R][CP]</c>: <c>R * CP</c> floats.</summary>
    /// <param name="reduced">Reduced channels R.</param>
    /// <param name="channels">Block channels C.</param>
    /// <returns>The packed float count.</returns>
    /// <exception cref="OverflowException">The size exceeds <c>int.MaxValue</c>.</exception>
    public static int SeReduce(int reduced, int channels) => ToInt(PackedLayout.SeReduce(NonNegative(reduced, nameof(reduced)), Count(channels, nameof(channels))));

    /// <summary>Squeeze-excite reduce bias <c>[RoundUp(R, 16)]</c>.</summary>
    /// <param name="reduced">Reduced channels R.</param>
    /// <returns>The packed float count.</returns>
    public static int SeReduceBias(int reduced) => ToInt(PackedLayout.SeReduceBias(Count(reduced, nameof(reduced))));

    /// <summary>Squeeze-excite expand weight, transposed <c>[R][CP]</c>: <c>R * CP</c> floats.</summary>
    /// <param name="channels">Block channels C.</param>
    /// <param name="reduced">Reduced channels R.</param>
    /// <returns>The packed float count.</returns>
    /// <exception cref="OverflowException">The size exceeds <c>int.MaxValue</c>.</exception>
    public static int SeExpand(int channels, int reduced) => ToInt(PackedLayout.SeExpand(Count(channels, nameof(channels)), NonNegative(reduced, nameof(reduced))));

    /// <summary>Linear weight in 16-output blocks <c>[NP/16][Cin][16]</c>: <c>NP * Cin</c> floats.</summary>
    /// <param name="outFeatures">Output features N.</param>
    /// <param name="inFeatures">Input features Cin.</param>
    /// <returns>The packed float count.</returns>
    /// <exception cref="OverflowException">The size exceeds <c>int.MaxValue</c>.</exception>
    public static int Linear(int outFeatures, int inFeatures) => ToInt(PackedLayout.Linear(Count(outFeatures, nameof(outFeatures)), NonNegative(inFeatures, nameof(inFeatures))));

    /// <summary>A count that is padded to 16: 0 to <c>int.MaxValue - 15</c>, as <see cref="RoundUp16"/> accepts.</summary>
    private static int Count(int n, string name) =>
        n >= 0 && n <= int.MaxValue - 15 ? n : throw new ArgumentOutOfRangeException(name, n, "Count must be between 0 and int.MaxValue - 15.");

    private static int NonNegative(int value, string name) =>
        value >= 0 ? value : throw new ArgumentOutOfRangeException(name, value, "Count must not be negative.");

    /// <summary>The size as an int; <see cref="OverflowException"/> when it does not fit (as the former checked-int arithmetic threw).</summary>
    private static int ToInt(long size) => checked((int)size);
}

/// <summary>
/// Converts PyTorch tensors (OIHW convolution weights, <c>[N, Cin]</c> linear weights, 1-D biases) into the
/// packed layouts of <c>docs/design.md</c>. Every padding slot is written as 0. The source must have exactly the
/// expected length; the destination must be at least <see cref="PackedSize"/> long and only that prefix is written.
/// </summary>
public static class WeightPacking
{
    /// <summary>Packs a stem weight <c>[Cout, Cin, 3, 3]</c> into <c>[CoutP/16][Cin][3][3][16]</c>.</summary>
    /// <param name="oihw">Source weight, <c>cout * cin * 9</c> floats.</param>
    /// <param name="cout">Output channels.</param>
    /// <param name="cin">Input channels.</param>
    /// <param name="dst">Destination, at least <see cref="PackedSize.Stem"/> floats.</param>
    public static void PackStem(ReadOnlySpan<float> oihw, int cout, int cin, Span<float> dst)
    {
        int n = Check(oihw, nameof(oihw), checked(Positive(cout, nameof(cout)) * Positive(cin, nameof(cin)) * 9), dst, PackedSize.Stem(cout, cin), "[Cout, Cin, 3, 3]");
        dst = dst.Slice(0, n);
        int blocks = PackedSize.RoundUp16(cout) / 16;
        for (int b = 0; b < blocks; b++)
        {
            for (int ci = 0; ci < cin; ci++)
            {
                for (int k = 0; k < 9; k++)
                {
                    int d = (((b * cin) + ci) * 9 + k) * 16;
                    for (int j = 0; j < 16; j++)
                    {
                        int o = (b * 16) + j;
                        dst[d + j] = o < cout ? oihw[(((o * cin) + ci) * 9) + k] : 0f;
                    }
                }
            }
        }
    }

    /// <summary>Packs a depthwise weight <c>[C, 1, 3, 3]</c> into <c>[9][CP]</c>.</summary>
    /// <param name="w">Source weight, <c>channels * 9</c> floats.</param>
    /// <param name="channels">Channels.</param>
    /// <param name="dst">Destination, at least <see cref="PackedSize.Depthwise"/> floats.</param>
    public static void PackDepthwise(ReadOnlySpan<float> w, int channels, Span<float> dst)
    {
        int n = Check(w, nameof(w), checked(Positive(channels, nameof(channels)) * 9), dst, PackedSize.Depthwise(channels), "[C, 1, 3, 3]");
        dst = dst.Slice(0, n);
        int cp = PackedSize.RoundUp16(channels);
        for (int t = 0; t < 9; t++)
        {
            for (int c = 0; c < cp; c++)
            {
                dst[(t * cp) + c] = c < channels ? w[(c * 9) + t] : 0f;
            }
        }
    }

    /// <summary>Packs a pointwise weight <c>[Cout, Cin, 1, 1]</c> into <c>[CoutP/16][Cin][16]</c>.</summary>
    /// <param name="w">Source weight, <c>cout * cin</c> floats.</param>
    /// <param name="cout">Output channels.</param>
    /// <param name="cin">Input channels.</param>
    /// <param name="dst">Destination, at least <see cref="PackedSize.Pointwise"/> floats.</param>
    public static void PackPointwise(ReadOnlySpan<float> w, int cout, int cin, Span<float> dst)
    {
        int n = Check(w, nameof(w), checked(Positive(cout, nameof(cout)) * Positive(cin, nameof(cin))), dst, PackedSize.Pointwise(cout, cin), "[Cout, Cin, 1, 1]");
        dst = dst.Slice(0, n);
        int blocks = PackedSize.RoundUp16(cout) / 16;
        for (int b = 0; b < blocks; b++)
        {
            for (int k = 0; k < cin; k++)
            {
                int d = ((b * cin) + k) * 16;
                for (int j = 0; j < 16; j++)
                {
                    int o = (b * 16) + j;
                    dst[d + j] = o < cout ? w[(o * cin) + k] : 0f;
                }
            }
        }
    }

    /// <summary>Packs a bias <c>[N]</c> into <c>[RoundUp(N, 16)]</c> (zero padded).</summary>
    /// <param name="b">Source bias, <c>count</c> floats.</param>
    /// <param name="count">Bias length.</param>
    /// <param name="dst">Destination, at least <see cref="PackedSize.Bias"/> floats.</param>
    public static void PackBias(ReadOnlySpan<float> b, int count, Span<float> dst)
    {
        int n = Check(b, nameof(b), Positive(count, nameof(count)), dst, PackedSize.Bias(count), "[N]");
        b.CopyTo(dst);
        dst.Slice(count, n - count).Clear();
    }

    /// <summary>Packs a squeeze-excite reduce weight <c>[R, C, 1, 1]</c> into <c>[R][CP]</c>.</summary>
    /// <param name="w">Source weight, <c>reduced * channels</c> floats.</param>
    /// <param name="reduced">Reduced channels R.</param>
    /// <param name="channels">Block channels C.</param>
    /// <param name="dst">Destination, at least <see cref="PackedSize.SeReduce"/> floats.</param>
    public static void PackSeReduce(ReadOnlySpan<float> w, int reduced, int channels, Span<float> dst)
    {
        int n = Check(w, nameof(w), checked(Positive(reduced, nameof(reduced)) * Positive(channels, nameof(channels))), dst, PackedSize.SeReduce(reduced, channels), "[R, C, 1, 1]");
        dst = dst.Slice(0, n);
        int cp = PackedSize.RoundUp16(channels);
        for (int r = 0; r < reduced; r++)
        {
            for (int c = 0; c < cp; c++)
            {
                dst[(r * cp) + c] = c < channels ? w[(r * channels) + c] : 0f;
            }
        }
    }

    /// <summary>Packs a squeeze-excite expand weight <c>[C, R, 1, 1]</c> transposed into <c>[R][CP]</c>.</summary>
    /// <param name="w">Source weight, <c>channels * reduced</c> floats.</param>
    /// <param name="channels">Block channels C.</param>
    /// <param name="reduced">Reduced channels R.</param>
    /// <param name="dst">Destination, at least <see cref="PackedSize.SeExpand"/> floats.</param>
    public static void PackSeExpand(ReadOnlySpan<float> w, int channels, int reduced, Span<float> dst)
    {
        int n = Check(w, nameof(w), checked(Positive(channels, nameof(channels)) * Positive(reduced, nameof(reduced))), dst, PackedSize.SeExpand(channels, reduced), "[C, R, 1, 1]");
        dst = dst.Slice(0, n);
        int cp = PackedSize.RoundUp16(channels);
        for (int r = 0; r < reduced; r++)
        {
            for (int c = 0; c < cp; c++)
            {
                dst[(r * cp) + c] = c < channels ? w[(c * reduced) + r] : 0f;
            }
        }
    }

    /// <summary>
    /// Packs a linear weight <c>[N, Cin]</c> into blocks of 16 outputs, <c>[NP/16][Cin][16]</c> (the pointwise layout):
    /// the kernel then reads each block's weights as one contiguous stream.
    /// </summary>
    /// <param name="w">Source weight, <c>outFeatures * inFeatures</c> floats.</param>
    /// <param name="outFeatures">Output features N.</param>
    /// <param name="inFeatures">Input features Cin.</param>
    /// <param name="dst">Destination, at least <see cref="PackedSize.Linear"/> floats.</param>
    public static void PackLinear(ReadOnlySpan<float> w, int outFeatures, int inFeatures, Span<float> dst)
    {
        int n = Check(w, nameof(w), checked(Positive(outFeatures, nameof(outFeatures)) * Positive(inFeatures, nameof(inFeatures))), dst, PackedSize.Linear(outFeatures, inFeatures), "[N, Cin]");
        dst = dst.Slice(0, n);
        PackPointwise(w, outFeatures, inFeatures, dst); // the same layout
    }

    /// <summary>
    /// Packs every tensor of a generated network's table: each row with a <see cref="TensorDescriptor.Packing"/> is read
    /// once from <paramref name="reader"/> and packed into its own range of <paramref name="packed"/>
    /// (<see cref="TensorDescriptor.PackedOffset"/>, <see cref="TensorDescriptor.PackedLength"/> floats), its dimensions
    /// taken from its shape. A range that is too short for its packed layout throws instead of spilling into the next tensor.
    /// </summary>
    /// <param name="reader">The weight file, opened with <paramref name="tensors"/>.</param>
    /// <param name="tensors">The network's tensor table.</param>
    /// <param name="packed">The packed weight buffer.</param>
    /// <exception cref="ArgumentException">A row's shape does not fit its packing, or its range does not fit its packed layout.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A row's range lies outside <paramref name="packed"/>.</exception>
    public static void PackAll(WeightReader reader, IReadOnlyList<TensorDescriptor> tensors, Span<float> packed)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(tensors);
        for (int i = 0; i < tensors.Count; i++)
        {
            TensorDescriptor t = tensors[i];
            if (t.Packing == TensorPacking.None)
            {
                continue;
            }

            int rank = t.Packing switch { TensorPacking.Bias => 1, TensorPacking.Linear => 2, _ => 4 };
            if (t.Shape.Length != rank)
            {
                throw new ArgumentException($"Tensor '{t.Name}' {t.ShapeText} cannot be packed as {t.Packing}: expected rank {rank}.", nameof(tensors));
            }

            Span<float> dst = packed.Slice(t.PackedOffset, t.PackedLength);
            ReadOnlySpan<float> src = reader.Read(t.Name);
            int[] s = t.Shape;
            switch (t.Packing)
            {
                case TensorPacking.Stem:
                    PackStem(src, s[0], s[1], dst);
                    break;
                case TensorPacking.Depthwise:
                    PackDepthwise(src, s[0], dst);
                    break;
                case TensorPacking.Pointwise:
                    PackPointwise(src, s[0], s[1], dst);
                    break;
                case TensorPacking.Bias:
                    PackBias(src, s[0], dst);
                    break;
                case TensorPacking.SeReduce:
                    PackSeReduce(src, s[0], s[1], dst);
                    break;
                case TensorPacking.SeExpand:
                    PackSeExpand(src, s[0], s[1], dst);
                    break;
                case TensorPacking.Linear:
                    PackLinear(src, s[0], s[1], dst);
                    break;
                default:
                    throw new ArgumentException($"Tensor '{t.Name}' has an unknown packing {t.Packing}.", nameof(tensors));
            }
        }
    }

    private static int Positive(int value, string name) =>
        value > 0 ? value : throw new ArgumentOutOfRangeException(name, value, "Count must be positive.");

    private static int Check(ReadOnlySpan<float> source, string sourceName, int expectedSource, Span<float> dst, int expectedDst, string shape)
    {
        if (source.Length != expectedSource)
        {
            throw new ArgumentException(
                $"Source tensor {shape} must have exactly {expectedSource} floats, but has {source.Length}.", sourceName);
        }

        if (dst.Length < expectedDst)
        {
            throw new ArgumentException(
                $"Destination must have at least {expectedDst} floats for the packed layout, but has {dst.Length}.", nameof(dst));
        }

        return expectedDst;
    }
}
