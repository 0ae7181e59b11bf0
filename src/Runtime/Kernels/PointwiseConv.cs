using System;
using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// Pointwise (1x1) convolution on NHWC-16 activations: the GEMM <c>[pixels x Cin] * [Cin x CoutP]</c> over packed
/// weights <c>[CoutP/16][Cin][16]</c>, with a register-blocked micro-kernel (4 pixels x 32 output channels),
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

    /// <summary>Floats of input rows to keep cache-resident (L2) while sweeping all output blocks.</summary>
    private const int ChunkFloats = 48 * 1024;

    /// <summary>
    /// How many times the activations' size the weights must be before a layer is split by output channels rather than
    /// by pixels. Measured on two Zen 4 cores: 1 (split as soon as the weights are larger) left the 14x14 layers of S0
    /// and S1 (256 and 512 channels) split by channels, so every depthwise layer there read half its input from the
    /// other core (S1: depthwise 0.62 ms per inference against 0.47–0.51 ms at 3). 8, which also splits S2–S4's
    /// 14x14 layers (640–896 channels) by pixels, each thread then streaming all of their weights, measured the same
    /// within noise (three A/B pairs: S3 17.96–18.49 against 18.40–18.55 ms, S2 12.89–13.65 against 13.12–13.83 ms).
    /// </summary>
    internal const int WeightsToActivationsForChannelSplit = 3;

    /// <summary>Pixels per Vector512 micro-kernel tile.</summary>
    private const int Rows512 = 8;

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
            Level = Simd.Level,
        };

        // Split the pixels across threads, or the output channels when the weights outweigh the activations by more
        // than WeightsToActivationsForChannelSplit (small late-stage maps with wide layers: each thread then streams
        // only its share of the weights). A pixel split keeps each thread on the rows it (and the depthwise layer
        // before) worked on, so it is preferred until the weights clearly dominate.
        int blocks = outChannelsPadded / 16;
        ctx.SplitChannels = (long)inChannels * outChannelsPadded > (long)pixels * inChannelsPadded * WeightsToActivationsForChannelSplit;
        int maxParts = ctx.SplitChannels ? (blocks + 1) / 2 : (pixels + Rows512 - 1) / Rows512;
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
                Compute(c->Level, c->Input, c->Pixels, c->Cin, c->CinP, c->Weights + (b0 * panel), c->Bias + (b0 * 16), c->Output + (b0 * 16), c->CoutP, b1 - b0, c->Relu);
            }
        }
        else
        {
            Parallelism.Range(c->Pixels, Rows512, part, parts, out int p0, out int p1);
            if (p1 > p0)
            {
                Compute(c->Level, c->Input + ((nint)p0 * c->CinP), p1 - p0, c->Cin, c->CinP, c->Weights, c->Bias, c->Output + ((nint)p0 * c->CoutP), c->CoutP, blocks, c->Relu);
            }
        }
    }

    /// <summary>The GEMM on <paramref name="pixels"/> rows and <paramref name="blocks"/> blocks of 16 output channels.</summary>
    internal static void Compute(
        SimdLevel level, float* input, int pixels, int cin, int cinP,
        float* weights, float* bias, float* output, int outStride, int blocks, bool relu)
    {
        switch (level)
        {
            case SimdLevel.Vector512:
                Run512(input, pixels, cin, cinP, weights, bias, output, outStride, blocks, relu);
                break;
            case SimdLevel.Vector256:
                Run<Block256>(input, pixels, cin, cinP, weights, bias, output, outStride, blocks, relu);
                break;
            case SimdLevel.Vector128:
                Run<Block128>(input, pixels, cin, cinP, weights, bias, output, outStride, blocks, relu);
                break;
            default:
                Run<BlockScalar>(input, pixels, cin, cinP, weights, bias, output, outStride, blocks, relu);
                break;
        }
    }

    /// <summary>
    /// Vector512: pixels in L2-sized chunks; per chunk, each 32-channel weight panel is swept over 8-pixel tiles
    /// (16 zmm accumulators, one embedded-broadcast FMA per activation and weight vector).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run512(
        float* input, int pixels, int cin, int cinP,
        float* weights, float* bias, float* output, int outStride, int blocks, bool relu)
    {
        nint panel = (nint)cin * 16;
        int chunk = Math.Max(Rows512, (ChunkFloats / cinP) / Rows512 * Rows512);
        for (int p0 = 0; p0 < pixels; p0 += chunk)
        {
            int rows = Math.Min(chunk, pixels - p0);
            float* a = input + ((nint)p0 * cinP);
            float* o = output + ((nint)p0 * outStride);
            int full = rows / Rows512 * Rows512;
            int tail = rows - full;
            int b = 0;
            for (; b + 2 <= blocks; b += 2)
            {
                float* w = weights + (b * panel);
                float* bb = bias + (b * 16);
                for (int r = 0; r < full; r += Rows512)
                {
                    PointwiseMicroKernels512.Tile512x32<Rows8>(a + ((nint)r * cinP), cinP, cin, w, panel, bb, o + ((nint)r * outStride) + (b * 16), outStride, relu);
                }

                if (tail > 0)
                {
                    Tail32(tail, a + ((nint)full * cinP), cinP, cin, w, panel, bb, o + ((nint)full * outStride) + (b * 16), outStride, relu);
                }
            }

            if (b < blocks)
            {
                float* w = weights + (b * panel);
                float* bb = bias + (b * 16);
                for (int r = 0; r < full; r += Rows512)
                {
                    PointwiseMicroKernels512.Tile512x16<Rows8>(a + ((nint)r * cinP), cinP, cin, w, bb, o + ((nint)r * outStride) + (b * 16), outStride, relu);
                }

                if (tail > 0)
                {
                    Tail16(tail, a + ((nint)full * cinP), cinP, cin, w, bb, o + ((nint)full * outStride) + (b * 16), outStride, relu);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Tail32(int rows, float* a, nint cinP, int cin, float* w, nint panel, float* bias, float* o, nint outStride, bool relu)
    {
        switch (rows)
        {
            case 1: PointwiseMicroKernels512.Tile512x32<Rows1>(a, cinP, cin, w, panel, bias, o, outStride, relu); break;
            case 2: PointwiseMicroKernels512.Tile512x32<Rows2>(a, cinP, cin, w, panel, bias, o, outStride, relu); break;
            case 3: PointwiseMicroKernels512.Tile512x32<Rows3>(a, cinP, cin, w, panel, bias, o, outStride, relu); break;
            case 4: PointwiseMicroKernels512.Tile512x32<Rows4>(a, cinP, cin, w, panel, bias, o, outStride, relu); break;
            case 5: PointwiseMicroKernels512.Tile512x32<Rows5>(a, cinP, cin, w, panel, bias, o, outStride, relu); break;
            case 6: PointwiseMicroKernels512.Tile512x32<Rows6>(a, cinP, cin, w, panel, bias, o, outStride, relu); break;
            default: PointwiseMicroKernels512.Tile512x32<Rows7>(a, cinP, cin, w, panel, bias, o, outStride, relu); break;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Tail16(int rows, float* a, nint cinP, int cin, float* w, float* bias, float* o, nint outStride, bool relu)
    {
        switch (rows)
        {
            case 1: PointwiseMicroKernels512.Tile512x16<Rows1>(a, cinP, cin, w, bias, o, outStride, relu); break;
            case 2: PointwiseMicroKernels512.Tile512x16<Rows2>(a, cinP, cin, w, bias, o, outStride, relu); break;
            case 3: PointwiseMicroKernels512.Tile512x16<Rows3>(a, cinP, cin, w, bias, o, outStride, relu); break;
            case 4: PointwiseMicroKernels512.Tile512x16<Rows4>(a, cinP, cin, w, bias, o, outStride, relu); break;
            case 5: PointwiseMicroKernels512.Tile512x16<Rows5>(a, cinP, cin, w, bias, o, outStride, relu); break;
            case 6: PointwiseMicroKernels512.Tile512x16<Rows6>(a, cinP, cin, w, bias, o, outStride, relu); break;
            default: PointwiseMicroKernels512.Tile512x16<Rows7>(a, cinP, cin, w, bias, o, outStride, relu); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<T>(
        float* input, int pixels, int cin, int cinP,
        float* weights, float* bias, float* output, int coutP, int blocks, bool relu)
        where T : struct, IFloat16Block<T>
    {
        nint panel = (nint)cin * 16;
        int chunk = Math.Max(4, (ChunkFloats / cinP) & ~3);
        for (int p0 = 0; p0 < pixels; p0 += chunk)
        {
            int rows = Math.Min(chunk, pixels - p0);
            float* a = input + ((nint)p0 * cinP);
            float* o = output + ((nint)p0 * coutP);
            int b = 0;
            for (; b + 2 <= blocks; b += 2)
            {
                float* w = weights + (b * panel);
                int r = 0;
                for (; r + 4 <= rows; r += 4)
                {
                    Tile4x2<T>(a + ((nint)r * cinP), cinP, cin, w, panel, bias + (b * 16), o + ((nint)r * coutP) + (b * 16), coutP, relu);
                }

                for (; r < rows; r++)
                {
                    Tile1x2<T>(a + ((nint)r * cinP), cin, w, panel, bias + (b * 16), o + ((nint)r * coutP) + (b * 16), relu);
                }
            }

            if (b < blocks)
            {
                float* w = weights + (b * panel);
                int r = 0;
                for (; r + 4 <= rows; r += 4)
                {
                    Tile4x1<T>(a + ((nint)r * cinP), cinP, cin, w, bias + (b * 16), o + ((nint)r * coutP) + (b * 16), coutP, relu);
                }

                for (; r < rows; r++)
                {
                    Tile1x1<T>(a + ((nint)r * cinP), cin, w, bias + (b * 16), o + ((nint)r * coutP) + (b * 16), relu);
                }
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
        public SimdLevel Level;
    }

    /// <summary>4 pixels x 2 blocks of 16 output channels; 8 accumulators stay in registers.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x2<T>(float* a, int cinP, int cin, float* w, nint panel, float* bias, float* o, int coutP, bool relu)
        where T : struct, IFloat16Block<T>
    {
        T b0 = T.Load(bias);
        T b1 = T.Load(bias + 16);
        T c00 = b0, c01 = b1, c10 = b0, c11 = b1, c20 = b0, c21 = b1, c30 = b0, c31 = b1;
        float* a1 = a + cinP;
        float* a2 = a1 + cinP;
        float* a3 = a2 + cinP;
        float* w1 = w + panel;
        for (int k = 0; k < cin; k++)
        {
            T wa = T.Load(w);
            T wb = T.Load(w1);
            T x = T.Broadcast(a[k]);
            c00 = T.MultiplyAdd(x, wa, c00);
            c01 = T.MultiplyAdd(x, wb, c01);
            x = T.Broadcast(a1[k]);
            c10 = T.MultiplyAdd(x, wa, c10);
            c11 = T.MultiplyAdd(x, wb, c11);
            x = T.Broadcast(a2[k]);
            c20 = T.MultiplyAdd(x, wa, c20);
            c21 = T.MultiplyAdd(x, wb, c21);
            x = T.Broadcast(a3[k]);
            c30 = T.MultiplyAdd(x, wa, c30);
            c31 = T.MultiplyAdd(x, wb, c31);
            w += 16;
            w1 += 16;
        }

        if (relu)
        {
            c00 = T.ReluMax(c00);
            c01 = T.ReluMax(c01);
            c10 = T.ReluMax(c10);
            c11 = T.ReluMax(c11);
            c20 = T.ReluMax(c20);
            c21 = T.ReluMax(c21);
            c30 = T.ReluMax(c30);
            c31 = T.ReluMax(c31);
        }

        T.Store(o, c00);
        T.Store(o + 16, c01);
        o += coutP;
        T.Store(o, c10);
        T.Store(o + 16, c11);
        o += coutP;
        T.Store(o, c20);
        T.Store(o + 16, c21);
        o += coutP;
        T.Store(o, c30);
        T.Store(o + 16, c31);
    }

    /// <summary>1 pixel x 2 blocks (row remainder).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Tile1x2<T>(float* a, int cin, float* w, nint panel, float* bias, float* o, bool relu)
        where T : struct, IFloat16Block<T>
    {
        T c0 = T.Load(bias);
        T c1 = T.Load(bias + 16);
        float* w1 = w + panel;
        for (int k = 0; k < cin; k++)
        {
            T x = T.Broadcast(a[k]);
            c0 = T.MultiplyAdd(x, T.Load(w), c0);
            c1 = T.MultiplyAdd(x, T.Load(w1), c1);
            w += 16;
            w1 += 16;
        }

        if (relu)
        {
            c0 = T.ReluMax(c0);
            c1 = T.ReluMax(c1);
        }

        T.Store(o, c0);
        T.Store(o + 16, c1);
    }

    /// <summary>4 pixels x the last single block (block remainder).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x1<T>(float* a, int cinP, int cin, float* w, float* bias, float* o, int coutP, bool relu)
        where T : struct, IFloat16Block<T>
    {
        T c0 = T.Load(bias);
        T c1 = c0, c2 = c0, c3 = c0;
        float* a1 = a + cinP;
        float* a2 = a1 + cinP;
        float* a3 = a2 + cinP;
        for (int k = 0; k < cin; k++)
        {
            T wa = T.Load(w);
            c0 = T.MultiplyAdd(T.Broadcast(a[k]), wa, c0);
            c1 = T.MultiplyAdd(T.Broadcast(a1[k]), wa, c1);
            c2 = T.MultiplyAdd(T.Broadcast(a2[k]), wa, c2);
            c3 = T.MultiplyAdd(T.Broadcast(a3[k]), wa, c3);
            w += 16;
        }

        if (relu)
        {
            c0 = T.ReluMax(c0);
            c1 = T.ReluMax(c1);
            c2 = T.ReluMax(c2);
            c3 = T.ReluMax(c3);
        }

        T.Store(o, c0);
        T.Store(o + coutP, c1);
        T.Store(o + (2 * coutP), c2);
        T.Store(o + (3 * coutP), c3);
    }

    /// <summary>1 pixel x 1 block (both remainders).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Tile1x1<T>(float* a, int cin, float* w, float* bias, float* o, bool relu)
        where T : struct, IFloat16Block<T>
    {
        T c0 = T.Load(bias);
        for (int k = 0; k < cin; k++)
        {
            c0 = T.MultiplyAdd(T.Broadcast(a[k]), T.Load(w), c0);
            w += 16;
        }

        if (relu)
        {
            c0 = T.ReluMax(c0);
        }

        T.Store(o, c0);
    }
}
