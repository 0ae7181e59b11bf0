// Kernels/Pooling: this file (GlobalAvgPool) and FeatureMapToChw are the entry points (argument checks); the
// micro-kernel is beside them.
//
// Naming, the same in every operator folder: a micro-kernel lives in <Tile>.<Isa>.cs as the class <Tile><Isa>.
//   <Tile> is <pixels>x<output channels> of the register tile, channels counted in floats (never in 16-channel
//          blocks): Mean4x16 = 4 pixels x 16 channels summed per step. A kernel that is not one tile is named for
//          what it is.
//   <Isa>  is Avx512 (Vector512 / AVX-512F intrinsics written out; SimdLevel.Vector512 only) or Block16 (written once
//          over IBlock16<T>, one JIT instantiation per SimdLevel).
// The ISA is chosen once per Simd.Level change (KernelTable), not per call.
//
//   Mean4x16.Block16.cs  per-channel mean: 4 pixels x 16 channels per step (four accumulators); also the squeeze of
//                        SqueezeExcite
//   FeatureMapToChw.cs   NHWC-16 -> CHW copy, scalar (no ISA variants)
using System;

namespace MobileOne.Runtime;

/// <summary>Global average pooling of an NHWC-16 activation into a <c>[CP]</c> vector.</summary>
public static unsafe class GlobalAvgPool
{
    /// <summary>Averages over pixels on spans; every length is checked before any memory is touched.</summary>
    /// <param name="input">NHWC-16 input, at least <c>pixels * channelsPadded</c> floats.</param>
    /// <param name="pixels">Pixels (height x width).</param>
    /// <param name="channelsPadded">Channels rounded up to a multiple of 16.</param>
    /// <param name="output">At least <c>channelsPadded</c> floats.</param>
    public static void Run(ReadOnlySpan<float> input, int pixels, int channelsPadded, Span<float> output)
    {
        KernelArguments.Length(input, (long)pixels * channelsPadded, nameof(input));
        KernelArguments.Length(output, channelsPadded, nameof(output));
        fixed (float* i = input)
        fixed (float* o = output)
        {
            Run(i, pixels, channelsPadded, o);
        }
    }

    /// <summary>Writes the per-channel mean over all pixels.</summary>
    /// <param name="input">NHWC-16 input, <c>pixels * channelsPadded</c> floats.</param>
    /// <param name="pixels">Number of pixels (height * width).</param>
    /// <param name="channelsPadded">Channels rounded up to a multiple of 16.</param>
    /// <param name="output">Output, <c>channelsPadded</c> floats (padding channels come out 0 when they are 0 in the input).</param>
    public static void Run(float* input, int pixels, int channelsPadded, float* output)
    {
        KernelArguments.Positive(pixels, nameof(pixels));
        KernelArguments.Padded(channelsPadded, 1, nameof(channelsPadded));

        long start = KernelProfiler.Start();
        Simd.Kernels.Mean(input, pixels, channelsPadded, output);
        KernelProfiler.Stop(start, "head: global pool", (long)pixels * channelsPadded);
    }
}
