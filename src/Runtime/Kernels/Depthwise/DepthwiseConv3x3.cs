// Kernels/Depthwise: this file is the entry point (argument checks, thread split over output rows); the micro-kernels
// are beside it.
//
// Naming, the same in every operator folder: a micro-kernel lives in <Tile>.<Isa>.cs as the class <Tile><Isa>.
//   <Tile> is <pixels>x<output channels> of the register tile, channels counted in floats (never in 16-channel
//          blocks): Depthwise4x16 = 4 output pixels x 16 channels. A kernel that is not one tile is named for what it
//          is: Depthwise.<Isa>.cs is the driver over output rows, DepthwiseBorder the zero-padded edge pixels.
//   <Isa>  is Avx512 (Vector512 / AVX-512F intrinsics written out; SimdLevel.Vector512 only) or Block16 (written once
//          over IBlock16<T>, one JIT instantiation per SimdLevel).
// The ISA is chosen once per Simd.Level change (KernelTable), not per call.
//
//   Depthwise.Block16.cs        driver: output rows [oyBegin, oyEnd), border pixels vs interior runs
//   Depthwise4x16.Block16.cs    interior runs: 4 pixels x 16 channels per step (each input vector serves up to three
//                               outputs at stride 1, two at stride 2), 1 x 16 for the rest; at Vector512 and stride 1
//                               two output rows per step (TwoRows), the top and bottom rows included
//   DepthwiseZeroRow.cs         the shared read-only row of zeros TwoRows reads above and below the image
//   DepthwiseBorder.Block16.cs  1 border pixel x all channels, taps outside the input skipped (zero padding)
using System;

namespace MobileOne.Runtime;

/// <summary>
/// Depthwise 3x3 convolution, pad 1, on NHWC-16 activations, vectorised across channels, with bias and optional
/// ReLU fused.
/// </summary>
public static unsafe class DepthwiseConv3x3
{
    /// <summary>Runs the depthwise convolution on spans; every length is checked before any memory is touched.</summary>
    /// <param name="input">NHWC-16 input, at least <c>inHeight * inWidth * channelsPadded</c> floats.</param>
    /// <param name="inHeight">Input height.</param>
    /// <param name="inWidth">Input width.</param>
    /// <param name="channelsPadded">Channels rounded up to a multiple of 16.</param>
    /// <param name="weights">Packed weights, at least <c>9 * channelsPadded</c> floats.</param>
    /// <param name="bias">Packed bias, at least <c>channelsPadded</c> floats.</param>
    /// <param name="output">NHWC-16 output, at least <c>outHeight * outWidth * channelsPadded</c> floats.</param>
    /// <param name="outHeight">Output height.</param>
    /// <param name="outWidth">Output width.</param>
    /// <param name="stride">Stride.</param>
    /// <param name="relu">Whether to apply ReLU after the bias.</param>
    public static void Run(
        ReadOnlySpan<float> input, int inHeight, int inWidth, int channelsPadded,
        ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, Span<float> output,
        int outHeight, int outWidth, int stride, bool relu)
    {
        KernelArguments.Length(input, (long)inHeight * inWidth * channelsPadded, nameof(input));
        KernelArguments.Length(weights, 9L * channelsPadded, nameof(weights));
        KernelArguments.Length(bias, channelsPadded, nameof(bias));
        KernelArguments.Length(output, (long)outHeight * outWidth * channelsPadded, nameof(output));
        fixed (float* i = input)
        fixed (float* w = weights)
        fixed (float* b = bias)
        fixed (float* o = output)
        {
            Run(i, inHeight, inWidth, channelsPadded, w, b, o, outHeight, outWidth, stride, relu);
        }
    }

    /// <summary>Runs the depthwise convolution.</summary>
    /// <param name="input">NHWC-16 input, <c>inHeight * inWidth * channelsPadded</c> floats.</param>
    /// <param name="inHeight">Input height.</param>
    /// <param name="inWidth">Input width.</param>
    /// <param name="channelsPadded">Channels rounded up to a multiple of 16 (same for input and output).</param>
    /// <param name="weights">Packed weight <c>[9][CP]</c> (see <see cref="WeightPacking.PackDepthwise"/>).</param>
    /// <param name="bias">Packed bias <c>[CP]</c>.</param>
    /// <param name="output">NHWC-16 output, <c>outHeight * outWidth * channelsPadded</c> floats.</param>
    /// <param name="outHeight">Output height, <c>(inHeight - 1) / stride + 1</c>.</param>
    /// <param name="outWidth">Output width, <c>(inWidth - 1) / stride + 1</c>.</param>
    /// <param name="stride">Stride (1 or 2 in MobileOne; any positive value works).</param>
    /// <param name="relu">Whether to apply ReLU after the bias.</param>
    public static void Run(
        float* input, int inHeight, int inWidth, int channelsPadded,
        float* weights, float* bias, float* output,
        int outHeight, int outWidth, int stride, bool relu)
    {
        KernelArguments.Positive(inHeight, nameof(inHeight));
        KernelArguments.Positive(inWidth, nameof(inWidth));
        KernelArguments.Positive(stride, nameof(stride));
        KernelArguments.Padded(channelsPadded, 1, nameof(channelsPadded));
        KernelArguments.ConvOutput(inHeight, outHeight, stride, nameof(outHeight));
        KernelArguments.ConvOutput(inWidth, outWidth, stride, nameof(outWidth));

        long start = KernelProfiler.Start();
        var ctx = new Context { Input = input, InHeight = inHeight, InWidth = inWidth, ChannelsPadded = channelsPadded, Weights = weights, Bias = bias, Output = output, OutHeight = outHeight, OutWidth = outWidth, Stride = stride, Relu = relu, Rows = Simd.Kernels.DepthwiseRows };
        long macs = (long)outHeight * outWidth * channelsPadded * 9;
        Parallelism.For(&Part, &ctx, macs < 300_000 ? 1 : outHeight);
        KernelProfiler.Stop(start, stride == 1 ? "depthwise s1" : "depthwise s2", macs);
    }

    private static void Part(void* context, int part, int parts)
    {
        var c = (Context*)context;
        Parallelism.Range(c->OutHeight, 1, part, parts, out int oy0, out int oy1);
        c->Rows(c->Input, c->InHeight, c->InWidth, c->ChannelsPadded, c->Weights, c->Bias, c->Output, c->OutHeight, c->OutWidth, c->Stride, c->Relu, oy0, oy1);
    }

    private struct Context
    {
        public float* Input;
        public int InHeight;
        public int InWidth;
        public int ChannelsPadded;
        public float* Weights;
        public float* Bias;
        public float* Output;
        public int OutHeight;
        public int OutWidth;
        public int Stride;
        public bool Relu;
        public DepthwiseRowsKernel Rows;
    }
}
