using System;
using System.Runtime.CompilerServices;

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
        var ctx = new Context { Input = input, InChannels = inChannels, InHeight = inHeight, InWidth = inWidth, Weights = weights, Bias = bias, Output = output, OutChannelsPadded = outChannelsPadded, OutHeight = outHeight, OutWidth = outWidth, Stride = stride, Relu = relu, Level = Simd.Level };
        long macs = (long)outHeight * outWidth * outChannelsPadded * inChannels * 9;
        Parallelism.For(&Part, &ctx, macs < 300_000 ? 1 : outHeight);
        KernelProfiler.Stop(start, "stem", macs);
    }

    private static void Part(void* context, int part, int parts)
    {
        var c = (Context*)context;
        Parallelism.Range(c->OutHeight, 1, part, parts, out int oy0, out int oy1);
        switch (c->Level)
        {
            case SimdLevel.Vector512:
                Run<Block512>(c->Input, c->InChannels, c->InHeight, c->InWidth, c->Weights, c->Bias, c->Output, c->OutChannelsPadded, c->OutHeight, c->OutWidth, c->Stride, c->Relu, oy0, oy1);
                break;
            case SimdLevel.Vector256:
                Run<Block256>(c->Input, c->InChannels, c->InHeight, c->InWidth, c->Weights, c->Bias, c->Output, c->OutChannelsPadded, c->OutHeight, c->OutWidth, c->Stride, c->Relu, oy0, oy1);
                break;
            case SimdLevel.Vector128:
                Run<Block128>(c->Input, c->InChannels, c->InHeight, c->InWidth, c->Weights, c->Bias, c->Output, c->OutChannelsPadded, c->OutHeight, c->OutWidth, c->Stride, c->Relu, oy0, oy1);
                break;
            default:
                Run<BlockScalar>(c->Input, c->InChannels, c->InHeight, c->InWidth, c->Weights, c->Bias, c->Output, c->OutChannelsPadded, c->OutHeight, c->OutWidth, c->Stride, c->Relu, oy0, oy1);
                break;
        }
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
        public SimdLevel Level;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<T>(
        float* input, int inChannels, int inHeight, int inWidth,
        float* weights, float* bias, float* output, int cp,
        int outHeight, int outWidth, int stride, bool relu, int oyBegin, int oyEnd)
        where T : struct, IFloat16Block<T>
    {
        int blocks = cp / 16;
        int plane = inHeight * inWidth;
        int blockWeights = inChannels * 9 * 16;
        KernelArguments.Interior(inHeight, outHeight, stride, out int y0, out int y1);
        KernelArguments.Interior(inWidth, outWidth, stride, out int x0, out int x1);

        for (int oy = oyBegin; oy < oyEnd; oy++)
        {
            float* outRow = output + ((nint)oy * outWidth * cp);
            if (oy < y0 || oy >= y1)
            {
                for (int ox = 0; ox < outWidth; ox++)
                {
                    BorderPixel<T>(input, inChannels, inHeight, inWidth, weights, bias, outRow + ((nint)ox * cp), blocks, oy, ox, stride, relu);
                }

                continue;
            }

            for (int ox = 0; ox < x0; ox++)
            {
                BorderPixel<T>(input, inChannels, inHeight, inWidth, weights, bias, outRow + ((nint)ox * cp), blocks, oy, ox, stride, relu);
            }

            for (int ox = x1; ox < outWidth; ox++)
            {
                BorderPixel<T>(input, inChannels, inHeight, inWidth, weights, bias, outRow + ((nint)ox * cp), blocks, oy, ox, stride, relu);
            }

            // Top-left tap of output column 0 (column -1 of row oy*stride-1); interior columns never touch it.
            float* inRow = input + ((nint)((oy * stride) - 1) * inWidth) - 1;
            int s = stride;

            // Vector512: 8 pixels x 32 channels per tile (16 zmm accumulators, as the pointwise micro-kernel), over
            // pairs of blocks; the columns left over, and an odd last block, take the 4-pixel tiles below.
            int pairedBlocks = 0, tiledEnd = x0;
            if (typeof(T) == typeof(Block512) && x1 - x0 >= 8)
            {
                pairedBlocks = blocks & ~1;
                tiledEnd = x0 + (((x1 - x0) / 8) * 8);
                for (int b = 0; b < pairedBlocks; b += 2)
                {
                    Tile8x2<T>(inRow, inChannels, plane, inWidth, s, weights + ((nint)b * blockWeights), blockWeights, bias + (b * 16), outRow + (b * 16), cp, x0, tiledEnd, relu);
                }
            }

            for (int b = 0; b < blocks; b++)
            {
                float* wb = weights + ((nint)b * blockWeights);
                T bv = T.Load(bias + (b * 16));
                int ox = b < pairedBlocks ? tiledEnd : x0;
                for (; ox + 4 <= x1; ox += 4)
                {
                    T a0 = bv, a1 = bv, a2 = bv, a3 = bv;
                    float* p = inRow + ((nint)ox * s);
                    float* wp = wb;
                    for (int ci = 0; ci < inChannels; ci++)
                    {
                        float* r = p + ((nint)ci * plane);
                        for (int ky = 0; ky < 3; ky++)
                        {
                            T w0 = T.Load(wp);
                            T w1 = T.Load(wp + 16);
                            T w2 = T.Load(wp + 32);
                            a0 = T.MultiplyAdd(T.Broadcast(r[0]), w0, a0);
                            a1 = T.MultiplyAdd(T.Broadcast(r[s]), w0, a1);
                            a2 = T.MultiplyAdd(T.Broadcast(r[2 * s]), w0, a2);
                            a3 = T.MultiplyAdd(T.Broadcast(r[3 * s]), w0, a3);
                            a0 = T.MultiplyAdd(T.Broadcast(r[1]), w1, a0);
                            a1 = T.MultiplyAdd(T.Broadcast(r[s + 1]), w1, a1);
                            a2 = T.MultiplyAdd(T.Broadcast(r[(2 * s) + 1]), w1, a2);
                            a3 = T.MultiplyAdd(T.Broadcast(r[(3 * s) + 1]), w1, a3);
                            a0 = T.MultiplyAdd(T.Broadcast(r[2]), w2, a0);
                            a1 = T.MultiplyAdd(T.Broadcast(r[s + 2]), w2, a1);
                            a2 = T.MultiplyAdd(T.Broadcast(r[(2 * s) + 2]), w2, a2);
                            a3 = T.MultiplyAdd(T.Broadcast(r[(3 * s) + 2]), w2, a3);
                            wp += 48;
                            r += inWidth;
                        }
                    }

                    float* o = outRow + ((nint)ox * cp) + (b * 16);
                    if (relu)
                    {
                        a0 = T.ReluMax(a0);
                        a1 = T.ReluMax(a1);
                        a2 = T.ReluMax(a2);
                        a3 = T.ReluMax(a3);
                    }

                    T.Store(o, a0);
                    T.Store(o + cp, a1);
                    T.Store(o + (2 * cp), a2);
                    T.Store(o + (3 * cp), a3);
                }

                for (; ox < x1; ox++)
                {
                    T a = bv;
                    float* p = inRow + ((nint)ox * s);
                    float* wp = wb;
                    for (int ci = 0; ci < inChannels; ci++)
                    {
                        float* r = p + ((nint)ci * plane);
                        for (int ky = 0; ky < 3; ky++)
                        {
                            a = T.MultiplyAdd(T.Broadcast(r[0]), T.Load(wp), a);
                            a = T.MultiplyAdd(T.Broadcast(r[1]), T.Load(wp + 16), a);
                            a = T.MultiplyAdd(T.Broadcast(r[2]), T.Load(wp + 32), a);
                            wp += 48;
                            r += inWidth;
                        }
                    }

                    if (relu)
                    {
                        a = T.ReluMax(a);
                    }

                    T.Store(outRow + ((nint)ox * cp) + (b * 16), a);
                }
            }
        }
    }

    /// <summary>
    /// Interior columns [<paramref name="oxBegin"/>, <paramref name="oxEnd"/>) of one output row (a multiple of 8 of
    /// them) for two blocks of 16 output channels: 8 pixels x 32 channels per step, each weight vector loaded once for
    /// 8 pixels and each input value broadcast once for both blocks.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile8x2<T>(
        float* inRow, int inChannels, int plane, int inWidth, int s, float* weights, int blockWeights, float* bias,
        float* outRow, int cp, int oxBegin, int oxEnd, bool relu)
        where T : struct, IFloat16Block<T>
    {
        T b0 = T.Load(bias), b1 = T.Load(bias + 16);
        for (int ox = oxBegin; ox < oxEnd; ox += 8)
        {
            T a00 = b0, a01 = b0, a02 = b0, a03 = b0, a04 = b0, a05 = b0, a06 = b0, a07 = b0;
            T a10 = b1, a11 = b1, a12 = b1, a13 = b1, a14 = b1, a15 = b1, a16 = b1, a17 = b1;
            float* p = inRow + ((nint)ox * s);
            float* wp = weights;
            for (int ci = 0; ci < inChannels; ci++)
            {
                float* r = p + ((nint)ci * plane);
                for (int ky = 0; ky < 3; ky++)
                {
                    for (int kx = 0; kx < 3; kx++)
                    {
                        T w0 = T.Load(wp + (kx * 16));
                        T w1 = T.Load(wp + blockWeights + (kx * 16));
                        T x0 = T.Broadcast(r[kx]);
                        a00 = T.MultiplyAdd(x0, w0, a00);
                        a10 = T.MultiplyAdd(x0, w1, a10);
                        T x1 = T.Broadcast(r[(1 * s) + kx]);
                        a01 = T.MultiplyAdd(x1, w0, a01);
                        a11 = T.MultiplyAdd(x1, w1, a11);
                        T x2 = T.Broadcast(r[(2 * s) + kx]);
                        a02 = T.MultiplyAdd(x2, w0, a02);
                        a12 = T.MultiplyAdd(x2, w1, a12);
                        T x3 = T.Broadcast(r[(3 * s) + kx]);
                        a03 = T.MultiplyAdd(x3, w0, a03);
                        a13 = T.MultiplyAdd(x3, w1, a13);
                        T x4 = T.Broadcast(r[(4 * s) + kx]);
                        a04 = T.MultiplyAdd(x4, w0, a04);
                        a14 = T.MultiplyAdd(x4, w1, a14);
                        T x5 = T.Broadcast(r[(5 * s) + kx]);
                        a05 = T.MultiplyAdd(x5, w0, a05);
                        a15 = T.MultiplyAdd(x5, w1, a15);
                        T x6 = T.Broadcast(r[(6 * s) + kx]);
                        a06 = T.MultiplyAdd(x6, w0, a06);
                        a16 = T.MultiplyAdd(x6, w1, a16);
                        T x7 = T.Broadcast(r[(7 * s) + kx]);
                        a07 = T.MultiplyAdd(x7, w0, a07);
                        a17 = T.MultiplyAdd(x7, w1, a17);
                    }

                    wp += 48;
                    r += inWidth;
                }
            }

            if (relu)
            {
                    a00 = T.ReluMax(a00);
                    a10 = T.ReluMax(a10);
                    a01 = T.ReluMax(a01);
                    a11 = T.ReluMax(a11);
                    a02 = T.ReluMax(a02);
                    a12 = T.ReluMax(a12);
                    a03 = T.ReluMax(a03);
                    a13 = T.ReluMax(a13);
                    a04 = T.ReluMax(a04);
                    a14 = T.ReluMax(a14);
                    a05 = T.ReluMax(a05);
                    a15 = T.ReluMax(a15);
                    a06 = T.ReluMax(a06);
                    a16 = T.ReluMax(a16);
                    a07 = T.ReluMax(a07);
                    a17 = T.ReluMax(a17);
            }

            float* o = outRow + ((nint)ox * cp);
                T.Store(o + (0 * (nint)cp), a00);
                T.Store(o + (0 * (nint)cp) + 16, a10);
                T.Store(o + (1 * (nint)cp), a01);
                T.Store(o + (1 * (nint)cp) + 16, a11);
                T.Store(o + (2 * (nint)cp), a02);
                T.Store(o + (2 * (nint)cp) + 16, a12);
                T.Store(o + (3 * (nint)cp), a03);
                T.Store(o + (3 * (nint)cp) + 16, a13);
                T.Store(o + (4 * (nint)cp), a04);
                T.Store(o + (4 * (nint)cp) + 16, a14);
                T.Store(o + (5 * (nint)cp), a05);
                T.Store(o + (5 * (nint)cp) + 16, a15);
                T.Store(o + (6 * (nint)cp), a06);
                T.Store(o + (6 * (nint)cp) + 16, a16);
                T.Store(o + (7 * (nint)cp), a07);
                T.Store(o + (7 * (nint)cp) + 16, a17);
        }
    }

    /// <summary>One output pixel (all channel blocks) with taps outside the input skipped (zero padding).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void BorderPixel<T>(
        float* input, int inChannels, int inHeight, int inWidth, float* weights, float* bias, float* outPixel,
        int blocks, int oy, int ox, int stride, bool relu)
        where T : struct, IFloat16Block<T>
    {
        int plane = inHeight * inWidth;
        int blockWeights = inChannels * 9 * 16;
        int iy0 = (oy * stride) - 1;
        int ix0 = (ox * stride) - 1;
        for (int b = 0; b < blocks; b++)
        {
            T a = T.Load(bias + (b * 16));
            float* wb = weights + ((nint)b * blockWeights);
            for (int ci = 0; ci < inChannels; ci++)
            {
                for (int ky = 0; ky < 3; ky++)
                {
                    int iy = iy0 + ky;
                    if ((uint)iy >= (uint)inHeight)
                    {
                        continue;
                    }

                    for (int kx = 0; kx < 3; kx++)
                    {
                        int ix = ix0 + kx;
                        if ((uint)ix >= (uint)inWidth)
                        {
                            continue;
                        }

                        float v = input[((nint)ci * plane) + ((nint)iy * inWidth) + ix];
                        a = T.MultiplyAdd(T.Broadcast(v), T.Load(wb + ((((ci * 3) + ky) * 3) + kx) * 16), a);
                    }
                }
            }

            if (relu)
            {
                a = T.ReluMax(a);
            }

            T.Store(outPixel + (b * 16), a);
        }
    }
}
