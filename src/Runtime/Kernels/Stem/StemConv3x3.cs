// Kernels/Stem: this file is the entry point (argument checks, thread split over output rows); the micro-kernels are
// beside it.
//
// Naming, the same in every operator folder: a micro-kernel lives in <Tile>.<Isa>.cs as the class <Tile><Isa>.
//   <Tile> is <pixels>x<output channels> of the register tile, channels counted in floats (never in 16-channel
//          blocks): Stem8x32 = 8 output pixels x 32 output channels. A kernel that is not one tile is named for what it
//          is: Stem.<Isa>.cs is the driver over output rows, StemBorder the zero-padded edge pixels.
//   <Isa>  is Avx512 (Vector512 / AVX-512F intrinsics written out; SimdLevel.Vector512 only) or Block16 (written once
//          over IBlock16<T>, one JIT instantiation per SimdLevel).
// The ISA is chosen once per Simd.Level change (KernelTable), not per call.
//
//   Stem.Block16.cs        driver: output rows [oyBegin, oyEnd), border pixels vs interior runs
//   Stem8x32.Block16.cs    8 pixels x 32 output channels, 16 accumulators (used at Vector512 only: it needs 32 registers)
//   Stem8x48.Block16.cs    8 pixels x 48 output channels, 24 accumulators: the last three blocks of an odd count (Vector512)
//   Stem4x16.Block16.cs    one block's interior run: 4 pixels x 16 output channels per step, then 1 x 16
//   StemBorder.Block16.cs  1 border pixel x all output channels, taps outside the input skipped (zero padding)
using System;

namespace MobileOne.Runtime;

/// <summary>
/// The network's first layer: a full 3x3 convolution, pad 1, that reads the caller's unpadded CHW input and writes
/// NHWC-16, with bias and optional ReLU fused.
/// </summary>
public static unsafe class StemConv3x3
{
    /// <summary>Runs the stem convolution on spans; every length is checked before any memory is touched.</summary>
    /// <param name="input">CHW input, at least <c>inChannels * inHeight * inWidth</c> floats.</param>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="inHeight">Input height.</param>
    /// <param name="inWidth">Input width.</param>
    /// <param name="weights">Packed weights, at least <see cref="PackedSize.Stem"/> floats.</param>
    /// <param name="bias">Packed bias, at least <c>outChannelsPadded</c> floats.</param>
    /// <param name="output">NHWC-16 output, at least <c>outHeight * outWidth * outChannelsPadded</c> floats.</param>
    /// <param name="outChannelsPadded">Output channels rounded up to a multiple of 16.</param>
    /// <param name="outHeight">Output height.</param>
    /// <param name="outWidth">Output width.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="relu">Whether to apply ReLU after the bias.</param>
    public static void Run(
        ReadOnlySpan<float> input, int inChannels, int inHeight, int inWidth,
        ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> output, int outChannelsPadded,
        int outHeight, int outWidth, int stride, bool relu)
    {
        KernelArguments.Length(input, (long)inChannels * inHeight * inWidth, nameof(input));
        KernelArguments.Length(weights, (long)outChannelsPadded * inChannels * 9, nameof(weights));
        KernelArguments.Length(bias, outChannelsPadded, nameof(bias));
        KernelArguments.Length(output, (long)outHeight * outWidth * outChannelsPadded, nameof(output));
        fixed (float* i = input)
        fixed (float* w = weights)
        fixed (float* b = bias)
        fixed (float* o = output)
        {
            Run(i, inChannels, inHeight, inWidth, w, b, o, outChannelsPadded, outHeight, outWidth, stride, relu);
        }
    }

    /// <summary>Runs the stem convolution.</summary>
    /// <param name="input">CHW input, <paramref name="inChannels"/> planes of <paramref name="inHeight"/> x <paramref name="inWidth"/>, unpadded.</param>
    /// <param name="inChannels">Input channels (any count, typically 3).</param>
    /// <param name="inHeight">Input height.</param>
    /// <param name="inWidth">Input width.</param>
    /// <param name="weights">Packed weight <c>[CoutP/16][Cin][3][3][16]</c> (see <see cref="WeightPacking.PackStem"/>).</param>
    /// <param name="bias">Packed bias <c>[CoutP]</c>.</param>
    /// <param name="output">NHWC-16 output, <c>outHeight * outWidth * outChannelsPadded</c> floats.</param>
    /// <param name="outChannelsPadded">Output channels rounded up to a multiple of 16.</param>
    /// <param name="outHeight">Output height, <c>(inHeight - 1) / stride + 1</c>.</param>
    /// <param name="outWidth">Output width, <c>(inWidth - 1) / stride + 1</c>.</param>
    /// <param name="stride">Stride (1 or 2 in MobileOne; any positive value works).</param>
    /// <param name="relu">Whether to apply ReLU after the bias.</param>
    public static void Run(
        float* input, int inChannels, int inHeight, int inWidth,
        float* weights, float* bias, float* output, int outChannelsPadded,
        int outHeight, int outWidth, int stride, bool relu)
    {
        KernelArguments.Positive(inChannels, nameof(inChannels));
        KernelArguments.Positive(inHeight, nameof(inHeight));
        KernelArguments.Positive(inWidth, nameof(inWidth));
        KernelArguments.Positive(stride, nameof(stride));
        KernelArguments.Padded(outChannelsPadded, 1, nameof(outChannelsPadded));
        KernelArguments.ConvOutput(inHeight, outHeight, stride, nameof(outHeight));
        KernelArguments.ConvOutput(inWidth, outWidth, stride, nameof(outWidth));

        long start = KernelProfiler.Start();
        var ctx = new Context { Input = input, InChannels = inChannels, InHeight = inHeight, InWidth = inWidth, Weights = weights, Bias = bias, Output = output, OutChannelsPadded = outChannelsPadded, OutHeight = outHeight, OutWidth = outWidth, Stride = stride, Relu = relu, Rows = Simd.Kernels.StemRows };
        long macs = (long)outHeight * outWidth * outChannelsPadded * inChannels * 9;
        Parallelism.For(&Part, &ctx, macs < 300_000 ? 1 : outHeight);
        KernelProfiler.Stop(start, "stem", macs);
    }

    private static void Part(void* context, int part, int parts)
    {
        var c = (Context*)context;
        Parallelism.Range(c->OutHeight, 1, part, parts, out int oy0, out int oy1);
        c->Rows(c->Input, c->InChannels, c->InHeight, c->InWidth, c->Weights, c->Bias, c->Output, c->OutChannelsPadded, c->OutHeight, c->OutWidth, c->Stride, c->Relu, oy0, oy1);
    }

    private struct Context
    {
        public float* Input;
        public int InChannels;
        public int InHeight;
        public int InWidth;
        public float* Weights;
        public float* Bias;
        public float* Output;
        public int OutChannelsPadded;
        public int OutHeight;
        public int OutWidth;
        public int Stride;
        public bool Relu;
        public StemRowsKernel Rows;
    }
}
