// Kernels/Linear: this file is the entry point (argument checks, thread split over groups of four 16-output blocks);
// the micro-kernel is beside it.
//
// Naming, the same in every operator folder: a micro-kernel lives in <Tile>.<Isa>.cs as the class <Tile><Isa>.
//   <Tile> is <pixels>x<output channels> of the register tile, channels counted in floats (never in 16-channel
//          blocks): Gemv1x64 = 1 input vector x 64 outputs. A kernel that is not one tile is named for what it is.
//   <Isa>  is Avx512 (Vector512 / AVX-512F intrinsics written out; SimdLevel.Vector512 only) or Block16 (written once
//          over IBlock16<T>, one JIT instantiation per SimdLevel).
// The ISA is chosen once per Simd.Level change (KernelTable), not per call.
//
//   Gemv1x64.Block16.cs  1 x 64 outputs per step (four weight panels streamed together), the last blocks 1 x 16
using System;

namespace MobileOne.Runtime;

/// <summary>
/// The classifier head: <c>output[o] = bias[o] + sum_i input[i] * W[o, i]</c> over the weight packed in blocks of 16
/// outputs (<c>[NP/16][Cin][16]</c>), four blocks at a time, so that the weights stream from memory contiguously.
/// </summary>
public static unsafe class Linear
{
    /// <summary>Runs the fully connected layer on spans; every length is checked before any memory is touched.</summary>
    /// <param name="input">At least <c>inFeatures</c> floats.</param>
    /// <param name="inFeatures">Input features.</param>
    /// <param name="weights">Packed weights (<c>[NP/16][Cin][16]</c>), at least <c>inFeatures * outFeaturesPadded</c> floats.</param>
    /// <param name="bias">Packed bias, at least <c>outFeaturesPadded</c> floats.</param>
    /// <param name="outFeaturesPadded">Outputs rounded up to a multiple of 16.</param>
    /// <param name="output">At least <c>outFeaturesPadded</c> floats.</param>
    public static void Run(ReadOnlySpan<float> input, int inFeatures, ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, int outFeaturesPadded, Span<float> output)
    {
        KernelArguments.Length(input, inFeatures, nameof(input));
        KernelArguments.Length(weights, (long)inFeatures * outFeaturesPadded, nameof(weights));
        KernelArguments.Length(bias, outFeaturesPadded, nameof(bias));
        KernelArguments.Length(output, outFeaturesPadded, nameof(output));
        fixed (float* i = input)
        fixed (float* w = weights)
        fixed (float* b = bias)
        fixed (float* o = output)
        {
            Run(i, inFeatures, w, b, outFeaturesPadded, o);
        }
    }

    /// <summary>Runs the fully connected layer (no activation).</summary>
    /// <param name="input">Input features, at least <paramref name="inFeatures"/> floats.</param>
    /// <param name="inFeatures">Input features Cin.</param>
    /// <param name="weights">Packed weight <c>[NP/16][Cin][16]</c> (see <see cref="WeightPacking.PackLinear"/>).</param>
    /// <param name="bias">Packed bias <c>[NP]</c>.</param>
    /// <param name="outFeaturesPadded">NP, output features rounded up to a multiple of 16.</param>
    /// <param name="output">Output, <paramref name="outFeaturesPadded"/> floats (padding outputs come out 0).</param>
    public static void Run(float* input, int inFeatures, float* weights, float* bias, int outFeaturesPadded, float* output)
    {
        KernelArguments.Positive(inFeatures, nameof(inFeatures));
        KernelArguments.Padded(outFeaturesPadded, 1, nameof(outFeaturesPadded));

        long start = KernelProfiler.Start();
        var ctx = new Context { Input = input, InFeatures = inFeatures, Weights = weights, Bias = bias, Output = output, Blocks = outFeaturesPadded / 16, Gemv = Simd.Kernels.LinearGemv };

        // The head streams its whole weight once per call (5 MB for 1280 -> 1000): memory-bound, so a large one is split
        // into groups of four 16-output blocks across threads, each streaming its own share of the weights.
        long macs = (long)inFeatures * outFeaturesPadded;
        Parallelism.For(&Part, &ctx, macs < 200_000 ? 1 : (ctx.Blocks + 3) / 4);
        KernelProfiler.Stop(start, "head: linear", macs);
    }

    private static void Part(void* context, int part, int parts)
    {
        var c = (Context*)context;
        Parallelism.Range(c->Blocks, 4, part, parts, out int b0, out int b1);
        if (b1 <= b0)
        {
            return;
        }

        nint panel = (nint)c->InFeatures * 16;
        float* w = c->Weights + (b0 * panel);
        float* b = c->Bias + (b0 * 16);
        float* o = c->Output + (b0 * 16);
        int np = (b1 - b0) * 16;
        c->Gemv(c->Input, c->InFeatures, w, b, np, o);
    }

    private struct Context
    {
        public float* Input;
        public int InFeatures;
        public float* Weights;
        public float* Bias;
        public float* Output;
        public int Blocks;
        public LinearGemvKernel Gemv;
    }
}
