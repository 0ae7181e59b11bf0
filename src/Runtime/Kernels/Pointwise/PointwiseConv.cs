// Kernels/Pointwise: this file is the entry point (argument checks, thread split); the micro-kernels are beside it.
//
// Naming, the same in every operator folder: a micro-kernel lives in <Tile>.<Isa>.cs as the class <Tile><Isa>.
//   <Tile> is <pixels>x<output channels> of the register tile, channels counted in floats (never in 16-channel
//          blocks): Gemm8x32 = 8 pixels x 32 output channels. A kernel that is not one tile is named for what it is:
//          Pointwise.<Isa>.cs is the driver that sweeps a range with that ISA's tiles.
//   <Isa>  is Avx512 (Vector512 / AVX-512F intrinsics written out; SimdLevel.Vector512 only) or Block16 (written once
//          over IBlock16<T>, one JIT instantiation per SimdLevel).
// The ISA is chosen once per Simd.Level change (KernelTable), not per call.
//
//   Pointwise.Avx512.cs   Vector512 driver: L2-sized pixel chunks (CacheChunkFloats), 32-channel panel pairs over balanced
//                         tiles of up to 14 pixels (8 when cin < 128), the next panel pair prefetched into L2
//   Gemm14x32.Avx512.cs   up to 14 pixels (IRowCount) x 32 output channels, 28 zmm accumulators
//   Gemm8x16.Avx512.cs    up to 8 pixels x 16 output channels (an odd last block)
//   Pointwise.Block16.cs  Vector256/Vector128/Scalar driver over the tiles below
//   Gemm4x32.Block16.cs   4 pixels x 32 output channels, 8 accumulators
//   Gemm1x32.Block16.cs   1 pixel x 32 output channels (pixel remainder)
//   Gemm4x16.Block16.cs   4 pixels x 16 output channels (an odd last block)
//   Gemm1x16.Block16.cs   1 pixel x 16 output channels (both remainders)
using System;

namespace MobileOne.Runtime;

/// <summary>
/// Pointwise (1x1) convolution on NHWC-16 activations: the GEMM <c>[pixels x Cin] * [Cin x CoutP]</c> over packed
/// weights <c>[CoutP/16][Cin][16]</c>, with register-blocked micro-kernels (Vector512: up to 14 pixels x 32 output channels,
/// <see cref="Gemm14x32Avx512"/>; the other levels: 4 pixels x 32 output channels, <see cref="Gemm4x32Block16"/>),
/// bias and optional ReLU fused in the epilogue.
/// </summary>
public static unsafe class PointwiseConv
{
    /// <summary>Runs the 1x1 convolution on spans; every length is checked before any memory is touched.</summary>
    /// <param name="input">NHWC-16 input, at least <c>pixels * inChannelsPadded</c> floats.</param>
    /// <param name="pixels">Pixels (height x width).</param>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="inChannelsPadded">Input channels rounded up to a multiple of 16.</param>
    /// <param name="weights">Packed weights, at least <c>outChannelsPadded * inChannels</c> floats.</param>
    /// <param name="bias">Packed bias, at least <c>outChannelsPadded</c> floats.</param>
    /// <param name="output">NHWC-16 output, at least <c>pixels * outChannelsPadded</c> floats.</param>
    /// <param name="outChannelsPadded">Output channels rounded up to a multiple of 16.</param>
    /// <param name="relu">Whether to apply ReLU after the bias.</param>
    public static void Run(
        ReadOnlySpan<float> input, int pixels, int inChannels, int inChannelsPadded,
        ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> output, int outChannelsPadded, bool relu)
    {
        KernelArguments.Length(input, (long)pixels * inChannelsPadded, nameof(input));
        KernelArguments.Length(weights, (long)outChannelsPadded * inChannels, nameof(weights));
        KernelArguments.Length(bias, outChannelsPadded, nameof(bias));
        KernelArguments.Length(output, (long)pixels * outChannelsPadded, nameof(output));
        fixed (float* i = input)
        fixed (float* w = weights)
        fixed (float* b = bias)
        fixed (float* o = output)
        {
            Run(i, pixels, inChannels, inChannelsPadded, w, b, o, outChannelsPadded, relu);
        }
    }

    /// <summary>
    /// How many times the activations' size the weights must be before a layer is split by output channels rather than
    /// by pixels. Measured on two Zen 4 cores: 1 (split as soon as the weights are larger) left the 14x14 layers of S0
    /// and S1 (256 and 512 channels) split by channels, so every depthwise layer there read half its input from the
    /// other core (S1: depthwise 0.62 ms per inference against 0.47–0.51 ms at 3). 8, which also splits S2–S4's
    /// 14x14 layers (640–896 channels) by pixels, each thread then streaming all of their weights, measured the same
    /// within noise (three A/B pairs: S3 17.96–18.49 against 18.40–18.55 ms, S2 12.89–13.65 against 13.12–13.83 ms).
    /// </summary>
    internal const int WeightsToActivationsForChannelSplit = 3;

    /// <summary>
    /// Floats of input rows to keep cache-resident (L2) while sweeping all output blocks, for a 1 MB L2 (the int8 sweep's
    /// chunk; the FP32 drivers use <see cref="CacheChunkFloats"/>).
    /// </summary>
    internal const int ChunkFloats = 48 * 1024;

    /// <summary>
    /// Floats of input rows per pixel chunk of the FP32 drivers: 3/16 of the detected L2 (<see cref="CpuCaches"/>), which
    /// is <see cref="ChunkFloats"/> (192 KB) on a 1 MB L2 (Zen 4, where it was tuned) and 384 KB on a 2 MB L2 (Sapphire and
    /// Emerald Rapids), at least 64 KB: the chunk's activations, the weight panels streamed over them and the output
    /// stay in L2.
    /// </summary>
    internal static readonly int CacheChunkFloats = Math.Max(16 * 1024, (int)Math.Min(int.MaxValue / 4, CpuCaches.Current.L2Bytes * 3L / 16 / sizeof(float)));

    /// <summary>The pixel granularity of a pixel split across threads, at every level.</summary>
    internal const int SplitPixels = 8;

    /// <summary>Runs the pointwise convolution.</summary>
    /// <param name="input">NHWC-16 input, <c>pixels * inChannelsPadded</c> floats.</param>
    /// <param name="pixels">Number of pixels (height * width).</param>
    /// <param name="inChannels">Real input channels (the packed weight's Cin).</param>
    /// <param name="inChannelsPadded">Input row stride, a multiple of 16.</param>
    /// <param name="weights">Packed weight <c>[CoutP/16][Cin][16]</c> (see <see cref="WeightPacking.PackPointwise"/>).</param>
    /// <param name="bias">Packed bias <c>[CoutP]</c>.</param>
    /// <param name="output">NHWC-16 output, <c>pixels * outChannelsPadded</c> floats.</param>
    /// <param name="outChannelsPadded">Output channels rounded up to a multiple of 16.</param>
    /// <param name="relu">Whether to apply ReLU after the bias.</param>
    public static void Run(
        float* input, int pixels, int inChannels, int inChannelsPadded,
        float* weights, float* bias, float* output, int outChannelsPadded, bool relu)
    {
        KernelArguments.Positive(pixels, nameof(pixels));
        KernelArguments.Positive(inChannels, nameof(inChannels));
        KernelArguments.Padded(inChannelsPadded, inChannels, nameof(inChannelsPadded));
        KernelArguments.Padded(outChannelsPadded, 1, nameof(outChannelsPadded));
        long start = KernelProfiler.Start();

        var ctx = new Context
        {
            Input = input, Pixels = pixels, Cin = inChannels, CinP = inChannelsPadded,
            Weights = weights, Bias = bias, Output = output, CoutP = outChannelsPadded, Relu = relu,
            Gemm = Simd.Kernels.PointwiseGemm,
        };

        // Split the pixels across threads, or the output channels when the weights outweigh the activations by more
        // than WeightsToActivationsForChannelSplit (small late-stage maps with wide layers: each thread then streams
        // only its share of the weights). A pixel split keeps each thread on the rows it (and the depthwise layer
        // before) worked on, so it is preferred until the weights clearly dominate.
        int blocks = outChannelsPadded / 16;
        ctx.SplitChannels = (long)inChannels * outChannelsPadded > (long)pixels * inChannelsPadded * WeightsToActivationsForChannelSplit;
        int maxParts = ctx.SplitChannels ? (blocks + 1) / 2 : (pixels + SplitPixels - 1) / SplitPixels;
        long macs = (long)pixels * inChannels * outChannelsPadded;
        if (macs < 200_000)
        {
            maxParts = 1; // not worth waking a worker
        }

        Parallelism.For(&Part, &ctx, maxParts);
        KernelProfiler.Stop(start, start == 0 ? string.Empty : ProfileKind(pixels, inChannels, outChannelsPadded), (long)pixels * inChannels * outChannelsPadded);
    }

    private static string ProfileKind(int pixels, int cin, int coutP) =>
        FormattableString.Invariant($"pointwise {pixels,5}px {cin,4}->{coutP,-4}");

    private static void Part(void* context, int part, int parts)
    {
        var c = (Context*)context;
        int blocks = c->CoutP / 16;
        nint panel = (nint)c->Cin * 16;
        if (c->SplitChannels)
        {
            Parallelism.Range(blocks, 2, part, parts, out int b0, out int b1);
            if (b1 > b0)
            {
                c->Gemm(c->Input, c->Pixels, c->Cin, c->CinP, c->Weights + (b0 * panel), c->Bias + (b0 * 16), c->Output + (b0 * 16), c->CoutP, b1 - b0, c->Relu);
            }
        }
        else
        {
            Parallelism.Range(c->Pixels, SplitPixels, part, parts, out int p0, out int p1);
            if (p1 > p0)
            {
                c->Gemm(c->Input + ((nint)p0 * c->CinP), p1 - p0, c->Cin, c->CinP, c->Weights, c->Bias, c->Output + ((nint)p0 * c->CoutP), c->CoutP, blocks, c->Relu);
            }
        }
    }

    private struct Context
    {
        public float* Input;
        public float* Weights;
        public float* Bias;
        public float* Output;
        public int Pixels;
        public int Cin;
        public int CinP;
        public int CoutP;
        public bool Relu;
        public bool SplitChannels;
        public PointwiseGemmKernel Gemm;
    }
}
