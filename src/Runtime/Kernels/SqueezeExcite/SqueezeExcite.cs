// Kernels/SqueezeExcite: this file is the entry point (argument checks; one thread: the work is small); the micro-kernel
// is beside it.
//
// Naming, the same in every operator folder: a micro-kernel lives in <Tile>.<Isa>.cs as the class <Tile><Isa>.
//   <Tile> is <pixels>x<output channels> of the register tile, channels counted in floats (never in 16-channel
//          blocks): Mean4x16 = 4 pixels x 16 channels summed per step. A kernel that is not one tile is named for what it is: SqueezeExcite.<Isa>.cs is the whole
//          squeeze, reduce, expand, sigmoid and excite.
//   <Isa>  is Avx512 (Vector512 / AVX-512F intrinsics written out; SimdLevel.Vector512 only) or Block16 (written once
//          over IBlock16<T>, one JIT instantiation per SimdLevel).
// The ISA is chosen once per Simd.Level change (KernelTable), not per call.
//
//   SqueezeExcite.Block16.cs  squeeze (Mean4x16Block16), reduce (dot products), expand (16 channels per step,
//                             over the transposed weight), sigmoid, excite (1 pixel x 16 channels per step)
using System;

namespace MobileOne.Runtime;

/// <summary>
/// Squeeze-and-excite, in place on an NHWC-16 activation:
/// <c>x *= sigmoid(expand(relu(reduce(mean(x)))))</c>, then optional ReLU.
/// </summary>
public static unsafe class SqueezeExcite
{
    /// <summary>Runs squeeze-excite in place on spans; every length is checked before any memory is touched.</summary>
    /// <param name="x">NHWC-16 activations, at least <c>pixels * channelsPadded</c> floats.</param>
    /// <param name="pixels">Pixels (height x width).</param>
    /// <param name="channels">Channels.</param>
    /// <param name="channelsPadded">Channels rounded up to a multiple of 16.</param>
    /// <param name="reducedChannels">Channels of the squeeze (R).</param>
    /// <param name="reduceWeights">Packed reduce weights, at least <c>R * channelsPadded</c> floats.</param>
    /// <param name="reduceBias">Packed reduce bias, at least <c>RoundUp16(R)</c> floats.</param>
    /// <param name="expandWeights">Packed (transposed) expand weights, at least <c>R * channelsPadded</c> floats.</param>
    /// <param name="expandBias">Packed expand bias, at least <c>channelsPadded</c> floats.</param>
    /// <param name="scratch">At least <c>channelsPadded + RoundUp16(R)</c> floats.</param>
    /// <param name="relu">Whether to apply ReLU after the gating.</param>
    public static void Run(
        Span<float> x, int pixels, int channels, int channelsPadded, int reducedChannels,
        ReadOnlySpan<float> reduceWeights, ReadOnlySpan<float> reduceBias, ReadOnlySpan<float> expandWeights, ReadOnlySpan<float> expandBias,
        Span<float> scratch, bool relu)
    {
        KernelArguments.Positive(reducedChannels, nameof(reducedChannels));
        KernelArguments.Length(x, (long)pixels * channelsPadded, nameof(x));
        KernelArguments.Length(reduceWeights, (long)reducedChannels * channelsPadded, nameof(reduceWeights));
        KernelArguments.Length(reduceBias, PackedSize.SeReduceBias(reducedChannels), nameof(reduceBias));
        KernelArguments.Length(expandWeights, (long)reducedChannels * channelsPadded, nameof(expandWeights));
        KernelArguments.Length(expandBias, channelsPadded, nameof(expandBias));
        KernelArguments.Length(scratch, (long)channelsPadded + PackedSize.RoundUp16(reducedChannels), nameof(scratch));
        fixed (float* px = x)
        fixed (float* rw = reduceWeights)
        fixed (float* rb = reduceBias)
        fixed (float* ew = expandWeights)
        fixed (float* eb = expandBias)
        fixed (float* s = scratch)
        {
            Run(px, pixels, channels, channelsPadded, reducedChannels, rw, rb, ew, eb, s, relu);
        }
    }

    /// <summary>Runs squeeze-and-excite in place.</summary>
    /// <param name="x">NHWC-16 activation, <c>pixels * channelsPadded</c> floats; overwritten with the result.</param>
    /// <param name="pixels">Number of pixels (height * width).</param>
    /// <param name="channels">Real channels C.</param>
    /// <param name="channelsPadded">CP, channels rounded up to a multiple of 16.</param>
    /// <param name="reducedChannels">Reduced channels R.</param>
    /// <param name="reduceWeights">Packed reduce weight <c>[R][CP]</c> (see <see cref="WeightPacking.PackSeReduce"/>).</param>
    /// <param name="reduceBias">Packed reduce bias <c>[RoundUp(R, 16)]</c>.</param>
    /// <param name="expandWeights">Packed, transposed expand weight <c>[R][CP]</c> (see <see cref="WeightPacking.PackSeExpand"/>).</param>
    /// <param name="expandBias">Packed expand bias <c>[CP]</c>.</param>
    /// <param name="scratch">Scratch of at least <c>CP + RoundUp(R, 16)</c> floats; contents on entry are ignored.</param>
    /// <param name="relu">Whether to apply ReLU after the scaling.</param>
    public static void Run(
        float* x, int pixels, int channels, int channelsPadded, int reducedChannels,
        float* reduceWeights, float* reduceBias, float* expandWeights, float* expandBias,
        float* scratch, bool relu)
    {
        KernelArguments.Positive(pixels, nameof(pixels));
        KernelArguments.Positive(channels, nameof(channels));
        KernelArguments.Padded(channelsPadded, channels, nameof(channelsPadded));
        KernelArguments.Positive(reducedChannels, nameof(reducedChannels));

        long start = KernelProfiler.Start();
        Simd.Kernels.SqueezeExcite(x, pixels, channels, channelsPadded, reducedChannels, reduceWeights, reduceBias, expandWeights, expandBias, scratch, relu);
        KernelProfiler.Stop(start, "squeeze-excite", (long)pixels * channelsPadded * 2 + 2L * reducedChannels * channelsPadded);
    }
}
