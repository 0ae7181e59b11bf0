using System;
using System.Runtime.CompilerServices;

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
        var ctx = new Context { Input = input, InHeight = inHeight, InWidth = inWidth, ChannelsPadded = channelsPadded, Weights = weights, Bias = bias, Output = output, OutHeight = outHeight, OutWidth = outWidth, Stride = stride, Relu = relu, Level = Simd.Level };
        long macs = (long)outHeight * outWidth * channelsPadded * 9;
        Parallelism.For(&Part, &ctx, macs < 300_000 ? 1 : outHeight);
        KernelProfiler.Stop(start, stride == 1 ? "depthwise s1" : "depthwise s2", macs);
    }

    private static void Part(void* context, int part, int parts)
    {
        var c = (Context*)context;
        Parallelism.Range(c->OutHeight, 1, part, parts, out int oy0, out int oy1);
        switch (c->Level)
        {
            case SimdLevel.Vector512:
                Run<Block512>(c->Input, c->InHeight, c->InWidth, c->ChannelsPadded, c->Weights, c->Bias, c->Output, c->OutHeight, c->OutWidth, c->Stride, c->Relu, oy0, oy1);
                break;
            case SimdLevel.Vector256:
                Run<Block256>(c->Input, c->InHeight, c->InWidth, c->ChannelsPadded, c->Weights, c->Bias, c->Output, c->OutHeight, c->OutWidth, c->Stride, c->Relu, oy0, oy1);
                break;
            case SimdLevel.Vector128:
                Run<Block128>(c->Input, c->InHeight, c->InWidth, c->ChannelsPadded, c->Weights, c->Bias, c->Output, c->OutHeight, c->OutWidth, c->Stride, c->Relu, oy0, oy1);
                break;
            default:
                Run<BlockScalar>(c->Input, c->InHeight, c->InWidth, c->ChannelsPadded, c->Weights, c->Bias, c->Output, c->OutHeight, c->OutWidth, c->Stride, c->Relu, oy0, oy1);
                break;
        }
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
        public SimdLevel Level;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<T>(
        float* input, int inHeight, int inWidth, int cp,
        float* weights, float* bias, float* output,
        int outHeight, int outWidth, int stride, bool relu, int oyBegin, int oyEnd)
        where T : struct, IFloat16Block<T>
    {
        int blocks = cp / 16;
        nint rowStride = (nint)inWidth * cp;
        nint step = (nint)stride * cp;
        KernelArguments.Interior(inHeight, outHeight, stride, out int y0, out int y1);
        KernelArguments.Interior(inWidth, outWidth, stride, out int x0, out int x1);

        for (int oy = oyBegin; oy < oyEnd; oy++)
        {
            float* outRow = output + ((nint)oy * outWidth * cp);
            if (oy < y0 || oy >= y1)
            {
                for (int ox = 0; ox < outWidth; ox++)
                {
                    BorderPixel<T>(input, inHeight, inWidth, cp, weights, bias, outRow + ((nint)ox * cp), blocks, oy, ox, stride, relu);
                }

                continue;
            }

            for (int ox = 0; ox < x0; ox++)
            {
                BorderPixel<T>(input, inHeight, inWidth, cp, weights, bias, outRow + ((nint)ox * cp), blocks, oy, ox, stride, relu);
            }

            for (int ox = x1; ox < outWidth; ox++)
            {
                BorderPixel<T>(input, inHeight, inWidth, cp, weights, bias, outRow + ((nint)ox * cp), blocks, oy, ox, stride, relu);
            }

            if (x0 >= x1)
            {
                continue;
            }

            // Tap (0, 0) of the first interior column: input (oy*stride-1, x0*stride-1).
            float* inStart = input + ((((nint)((oy * stride) - 1) * inWidth) + ((x0 * stride) - 1)) * cp);
            float* outStart = outRow + ((nint)x0 * cp);
            int count = x1 - x0;
            for (int b = 0; b < blocks; b++)
            {
                float* wb = weights + (b * 16);
                T w0 = T.Load(wb);
                T w1 = T.Load(wb + cp);
                T w2 = T.Load(wb + (2 * cp));
                T w3 = T.Load(wb + (3 * cp));
                T w4 = T.Load(wb + (4 * cp));
                T w5 = T.Load(wb + (5 * cp));
                T w6 = T.Load(wb + (6 * cp));
                T w7 = T.Load(wb + (7 * cp));
                T w8 = T.Load(wb + (8 * cp));
                T bv = T.Load(bias + (b * 16));
                float* p = inStart + (b * 16);
                float* o = outStart + (b * 16);
                int i = 0;
                if (stride == 1)
                {
                    // Four output pixels at once: each input vector loaded once serves up to three of them.
                    for (; i + 4 <= count; i += 4)
                    {
                        T a0 = bv, a1 = bv, a2 = bv, a3 = bv;
                        Row4<T>(p, cp, w0, w1, w2, ref a0, ref a1, ref a2, ref a3);
                        Row4<T>(p + rowStride, cp, w3, w4, w5, ref a0, ref a1, ref a2, ref a3);
                        Row4<T>(p + (2 * rowStride), cp, w6, w7, w8, ref a0, ref a1, ref a2, ref a3);
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
                        p += 4 * cp;
                        o += 4 * cp;
                    }
                }

                for (; i < count; i++)
                {
                    float* q = p + rowStride;
                    float* r = q + rowStride;
                    T top = T.MultiplyAdd(T.Load(p), w0, bv);
                    T mid = T.Multiply(T.Load(q), w3);
                    T bot = T.Multiply(T.Load(r), w6);
                    top = T.MultiplyAdd(T.Load(p + cp), w1, top);
                    mid = T.MultiplyAdd(T.Load(q + cp), w4, mid);
                    bot = T.MultiplyAdd(T.Load(r + cp), w7, bot);
                    top = T.MultiplyAdd(T.Load(p + (2 * cp)), w2, top);
                    mid = T.MultiplyAdd(T.Load(q + (2 * cp)), w5, mid);
                    bot = T.MultiplyAdd(T.Load(r + (2 * cp)), w8, bot);
                    T a = T.Add(T.Add(top, mid), bot);
                    if (relu)
                    {
                        a = T.ReluMax(a);
                    }

                    T.Store(o, a);
                    p += step;
                    o += cp;
                }
            }
        }
    }

    /// <summary>One kernel row of four adjacent stride-1 outputs: six input vectors, twelve FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row4<T>(float* p, int cp, T k0, T k1, T k2, ref T a0, ref T a1, ref T a2, ref T a3)
        where T : struct, IFloat16Block<T>
    {
        T x0 = T.Load(p);
        T x1 = T.Load(p + cp);
        T x2 = T.Load(p + (2 * cp));
        a0 = T.MultiplyAdd(x0, k0, a0);
        a0 = T.MultiplyAdd(x1, k1, a0);
        a1 = T.MultiplyAdd(x1, k0, a1);
        a0 = T.MultiplyAdd(x2, k2, a0);
        a1 = T.MultiplyAdd(x2, k1, a1);
        a2 = T.MultiplyAdd(x2, k0, a2);
        T x3 = T.Load(p + (3 * cp));
        a1 = T.MultiplyAdd(x3, k2, a1);
        a2 = T.MultiplyAdd(x3, k1, a2);
        a3 = T.MultiplyAdd(x3, k0, a3);
        T x4 = T.Load(p + (4 * cp));
        a2 = T.MultiplyAdd(x4, k2, a2);
        a3 = T.MultiplyAdd(x4, k1, a3);
        T x5 = T.Load(p + (5 * cp));
        a3 = T.MultiplyAdd(x5, k2, a3);
    }

    /// <summary>One output pixel (all channel blocks) with taps outside the input skipped (zero padding).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void BorderPixel<T>(
        float* input, int inHeight, int inWidth, int cp, float* weights, float* bias, float* outPixel,
        int blocks, int oy, int ox, int stride, bool relu)
        where T : struct, IFloat16Block<T>
    {
        // The taps inside the input, once per pixel: [ky0, ky1) x [kx0, kx1).
        int iy0 = (oy * stride) - 1;
        int ix0 = (ox * stride) - 1;
        int ky0 = Math.Max(0, -iy0), ky1 = Math.Min(3, inHeight - iy0);
        int kx0 = Math.Max(0, -ix0), kx1 = Math.Min(3, inWidth - ix0);
        nint rowStride = (nint)inWidth * cp;
        float* first = input + ((((nint)(iy0 + ky0) * inWidth) + ix0 + kx0) * cp);
        float* firstWeight = weights + ((((ky0 * 3) + kx0) * (nint)cp));
        for (int b = 0; b < blocks; b++)
        {
            T a = T.Load(bias + (b * 16));
            float* row = first + (b * 16);
            float* wrow = firstWeight + (b * 16);
            for (int ky = ky0; ky < ky1; ky++)
            {
                for (int kx = 0; kx < kx1 - kx0; kx++)
                {
                    a = T.MultiplyAdd(T.Load(row + (kx * (nint)cp)), T.Load(wrow + (kx * (nint)cp)), a);
                }

                row += rowStride;
                wrow += 3 * (nint)cp;
            }

            if (relu)
            {
                a = T.ReluMax(a);
            }

            T.Store(outPixel + (b * 16), a);
        }
    }
}
