using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The interior tile of <see cref="DepthwiseConv3x3"/>: 4 adjacent output pixels x 16 channels per step, so each loaded
/// input vector serves up to three outputs at stride 1 (18 loads for 36 FMAs instead of 36) and up to two at stride 2
/// (27 loads: the 9 input columns of each kernel row); the 1-3 pixels left over take 1 pixel x 16 channels. Stride 1
/// sweeps each channel block along the row with its nine weights in registers; stride 2 takes every block of a group of
/// four pixels before the next group (<see cref="Stride2Groups"/>), so its input, the largest activation of a stage, is
/// read in address order.
/// </summary>
internal static unsafe class Depthwise4x16Block16
{
    /// <summary>
    /// Channel blocks per strip of <see cref="TwoRows{T}"/> for layers of more than twice as many blocks: a row pair is
    /// swept once per strip of at most this many blocks, so that a group's input (4 rows x 6 pixels x the strip) and the
    /// strip's weights stay in L1 (kernel alone on the Xeon: 14x14x512 23-26 -> 22 us, 28x28x448 138-142 -> 132-136 us,
    /// 14x14x896 50-53 -> 48 us; 56x56x192 in two strips was slower, 207-213 -> 225-237 us, hence only above 16 blocks).
    /// </summary>
    private const int StripBlocks = 8;

    /// <summary>
    /// The interior columns of one output row, every channel block: <paramref name="count"/> pixels whose nine taps all
    /// lie inside the input, bias and optional ReLU fused.
    /// </summary>
    /// <param name="inStart">Tap (0, 0) of the first pixel: input <c>(oy*stride-1, x0*stride-1)</c>.</param>
    /// <param name="outStart">The first output pixel.</param>
    /// <param name="count">Pixels in the run.</param>
    /// <param name="cp">Channels padded (the pixel stride of input and output).</param>
    /// <param name="blocks">Blocks of 16 channels (<c>cp / 16</c>).</param>
    /// <param name="rowStride">Floats per input row.</param>
    /// <param name="step">Floats between the taps of adjacent output pixels (<c>stride * cp</c>).</param>
    /// <param name="stride">Stride.</param>
    /// <param name="weights">Packed weight <c>[9][CP]</c>.</param>
    /// <param name="bias">Packed bias <c>[CP]</c>.</param>
    /// <param name="relu">Whether to apply ReLU after the bias.</param>
    /// <typeparam name="T">The level's 16-float block.</typeparam>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void Row<T>(
        float* inStart, float* outStart, int count, int cp, int blocks, nint rowStride, nint step, int stride,
        float* weights, float* bias, bool relu)
        where T : struct, IBlock16<T>
    {
        int done = 0;
        if (stride == 2)
        {
            done = Stride2Groups<T>(inStart, outStart, count, cp, blocks, rowStride, weights, bias, relu);
            inStart += (nint)done * step;
            outStart += (nint)done * cp;
            count -= done;
        }

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

    /// <summary>
    /// Stride 1, two adjacent output rows (Vector512 only: 8 accumulators, 9 weights and 6 input vectors fit the 32 zmm
    /// registers): the four input rows are each loaded once for both output rows (24 loads for 72 FMAs instead of 36) and
    /// the eight accumulator chains are independent. Every channel block of a group of four pixels is done before the next
    /// group (the weights reloaded per block, from L1), so the input is read in address order: swept block by block, a
    /// 512-channel layer's loads are 2 KB apart and fall into two L1 sets (measured on the Xeon, kernel alone, against
    /// block by block: 56x56x96 106 -> 85-88 us, 28x28x192 40 -> 30-33 us, 14x14x512 28 -> 26-27 us).
    /// The input rows are passed one by one, so a row above or below the image is a row of zeros
    /// (<see cref="DepthwiseZeroRow"/>) and the top and bottom output rows take this path too: the zero taps add +0, so
    /// every output is summed in the same order, with the same result, as by <see cref="Row{T}"/> and
    /// <see cref="DepthwiseBorderBlock16"/>.
    /// </summary>
    /// <param name="r0">Input row <c>oy - 1</c> at column <c>x0 - 1</c> (tap (0, 0) of the first pixel), or zeros.</param>
    /// <param name="r1">Input row <c>oy</c>, same column.</param>
    /// <param name="r2">Input row <c>oy + 1</c>, same column, or zeros.</param>
    /// <param name="r3">Input row <c>oy + 2</c>, same column, or zeros; ignored when <paramref name="rows"/> is 1.</param>
    /// <param name="rows">Output rows: 2, or 1 (the upper row only).</param>
    /// <param name="outStart">The first output pixel of the upper row; the lower row starts <paramref name="outRowStride"/> later.</param>
    /// <param name="outRowStride">Floats per output row.</param>
    /// <param name="count">Interior pixels per row.</param>
    /// <param name="cp">Channels padded (the pixel stride of input and output).</param>
    /// <param name="blocks">Blocks of 16 channels (<c>cp / 16</c>).</param>
    /// <param name="weights">Packed weight <c>[9][CP]</c>.</param>
    /// <param name="bias">Packed bias <c>[CP]</c>.</param>
    /// <param name="relu">Whether to apply ReLU after the bias.</param>
    /// <typeparam name="T">The level's 16-float block.</typeparam>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void TwoRows<T>(
        float* r0, float* r1, float* r2, float* r3, int rows, float* outStart, nint outRowStride, int count, int cp, int blocks,
        float* weights, float* bias, bool relu)
        where T : struct, IBlock16<T>
    {
        int groups = count / 4;
        nint step = 4 * (nint)cp;
        int strips = blocks > 2 * StripBlocks ? (blocks + StripBlocks - 1) / StripBlocks : 1;
        for (int s = 0; s < strips; s++)
        {
            for (int g = 0; g < groups; g++)
            {
                int bBegin = blocks * s / strips, bEnd = blocks * (s + 1) / strips;
                nint at = (g * step) + (bBegin * 16);
                float* p0 = r0 + at, p1 = r1 + at, p2 = r2 + at, p3 = r3 + at;
                float* o = outStart + at;
                for (int b = bBegin; b < bEnd; b++)
                {
                    float* wb = weights + (b * 16);
                    T w0 = T.Load(wb);
                    T w1 = T.Load(wb + cp);
                    T w2 = T.Load(wb + (2 * cp));
                    T bv = T.Load(bias + (b * 16));
                    T a0 = bv, a1 = bv, a2 = bv, a3 = bv;
                    Row4<T>(p0, cp, w0, w1, w2, ref a0, ref a1, ref a2, ref a3);
                    T w3 = T.Load(wb + (3 * cp));
                    T w4 = T.Load(wb + (4 * cp));
                    T w5 = T.Load(wb + (5 * cp));
                    T w6 = T.Load(wb + (6 * cp));
                    T w7 = T.Load(wb + (7 * cp));
                    T w8 = T.Load(wb + (8 * cp));
                    if (rows == 2)
                    {
                        T c0 = bv, c1 = bv, c2 = bv, c3 = bv;
                        Row4Twice<T>(p1, cp, w3, w4, w5, ref a0, ref a1, ref a2, ref a3, w0, w1, w2, ref c0, ref c1, ref c2, ref c3);
                        Row4Twice<T>(p2, cp, w6, w7, w8, ref a0, ref a1, ref a2, ref a3, w3, w4, w5, ref c0, ref c1, ref c2, ref c3);
                        Row4<T>(p3, cp, w6, w7, w8, ref c0, ref c1, ref c2, ref c3);
                        Block16Stores.Four<T>(o + outRowStride, cp, c0, c1, c2, c3, relu);
                    }
                    else
                    {
                        Row4<T>(p1, cp, w3, w4, w5, ref a0, ref a1, ref a2, ref a3);
                        Row4<T>(p2, cp, w6, w7, w8, ref a0, ref a1, ref a2, ref a3);
                    }

                    Block16Stores.Four<T>(o, cp, a0, a1, a2, a3, relu);
                    p0 += 16;
                    p1 += 16;
                    p2 += 16;
                    p3 += 16;
                    o += 16;
                }
            }
        }

        // The 1-3 pixels left over in each row, one at a time.
        for (int x = groups * 4; x < count; x++)
        {
            nint at = (nint)x * cp;
            for (int r = 0; r < rows; r++)
            {
                float* q0 = (r == 0 ? r0 : r1) + at;
                float* q1 = (r == 0 ? r1 : r2) + at;
                float* q2 = (r == 0 ? r2 : r3) + at;
                float* o = outStart + (r * outRowStride) + at;
                for (int b = 0; b < blocks; b++)
                {
                    float* wb = weights + (b * 16);
                    T a = T.Load(bias + (b * 16));
                    a = T.MultiplyAdd(T.Load(q0), T.Load(wb), a);
                    a = T.MultiplyAdd(T.Load(q0 + cp), T.Load(wb + cp), a);
                    a = T.MultiplyAdd(T.Load(q0 + (2 * cp)), T.Load(wb + (2 * cp)), a);
                    a = T.MultiplyAdd(T.Load(q1), T.Load(wb + (3 * cp)), a);
                    a = T.MultiplyAdd(T.Load(q1 + cp), T.Load(wb + (4 * cp)), a);
                    a = T.MultiplyAdd(T.Load(q1 + (2 * cp)), T.Load(wb + (5 * cp)), a);
                    a = T.MultiplyAdd(T.Load(q2), T.Load(wb + (6 * cp)), a);
                    a = T.MultiplyAdd(T.Load(q2 + cp), T.Load(wb + (7 * cp)), a);
                    a = T.MultiplyAdd(T.Load(q2 + (2 * cp)), T.Load(wb + (8 * cp)), a);
                    T.Store(o, relu ? T.ReluMax(a) : a);
                    q0 += 16;
                    q1 += 16;
                    q2 += 16;
                    o += 16;
                }
            }
        }
    }

    /// <summary>One input row of four adjacent stride-1 outputs in two output rows: six input vectors, 24 FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row4Twice<T>(
        float* p, int cp, T k0, T k1, T k2, ref T a0, ref T a1, ref T a2, ref T a3,
        T m0, T m1, T m2, ref T c0, ref T c1, ref T c2, ref T c3)
        where T : struct, IBlock16<T>
    {
        T x0 = T.Load(p);
        T x1 = T.Load(p + cp);
        T x2 = T.Load(p + (2 * cp));
        a0 = T.MultiplyAdd(x0, k0, a0);
        c0 = T.MultiplyAdd(x0, m0, c0);
        a0 = T.MultiplyAdd(x1, k1, a0);
        c0 = T.MultiplyAdd(x1, m1, c0);
        a1 = T.MultiplyAdd(x1, k0, a1);
        c1 = T.MultiplyAdd(x1, m0, c1);
        a0 = T.MultiplyAdd(x2, k2, a0);
        c0 = T.MultiplyAdd(x2, m2, c0);
        a1 = T.MultiplyAdd(x2, k1, a1);
        c1 = T.MultiplyAdd(x2, m1, c1);
        a2 = T.MultiplyAdd(x2, k0, a2);
        c2 = T.MultiplyAdd(x2, m0, c2);
        T x3 = T.Load(p + (3 * cp));
        a1 = T.MultiplyAdd(x3, k2, a1);
        c1 = T.MultiplyAdd(x3, m2, c1);
        a2 = T.MultiplyAdd(x3, k1, a2);
        c2 = T.MultiplyAdd(x3, m1, c2);
        a3 = T.MultiplyAdd(x3, k0, a3);
        c3 = T.MultiplyAdd(x3, m0, c3);
        T x4 = T.Load(p + (4 * cp));
        a2 = T.MultiplyAdd(x4, k2, a2);
        c2 = T.MultiplyAdd(x4, m2, c2);
        a3 = T.MultiplyAdd(x4, k1, a3);
        c3 = T.MultiplyAdd(x4, m1, c3);
        T x5 = T.Load(p + (5 * cp));
        a3 = T.MultiplyAdd(x5, k2, a3);
        c3 = T.MultiplyAdd(x5, m2, c3);
    }

    /// <summary>
    /// Stride 2: groups of four output pixels, every channel block of a group before the next group, so the input is read
    /// in address order (three rows at once) rather than one 64-byte column per pixel per block pass; the weights are
    /// reloaded per block (from L1). Returns the pixels done (a multiple of 4).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int Stride2Groups<T>(float* inStart, float* outStart, int count, int cp, int blocks, nint rowStride, float* weights, float* bias, bool relu)
        where T : struct, IBlock16<T>
    {
        int groups = count / 4;
        for (int g = 0; g < groups; g++)
        {
            float* p = inStart + ((nint)g * 8 * cp);
            float* o = outStart + ((nint)g * 4 * cp);
            for (int b = 0; b < blocks; b++)
            {
                float* wb = weights + (b * 16);
                T bv = T.Load(bias + (b * 16));
                T a0 = bv, a1 = bv, a2 = bv, a3 = bv;
                Row4Stride2<T>(p, cp, T.Load(wb), T.Load(wb + cp), T.Load(wb + (2 * cp)), ref a0, ref a1, ref a2, ref a3);
                Row4Stride2<T>(p + rowStride, cp, T.Load(wb + (3 * cp)), T.Load(wb + (4 * cp)), T.Load(wb + (5 * cp)), ref a0, ref a1, ref a2, ref a3);
                Row4Stride2<T>(p + (2 * rowStride), cp, T.Load(wb + (6 * cp)), T.Load(wb + (7 * cp)), T.Load(wb + (8 * cp)), ref a0, ref a1, ref a2, ref a3);
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
                p += 16;
                o += 16;
            }
        }

        return groups * 4;
    }

    /// <summary>One kernel row of four adjacent stride-2 outputs: nine input vectors, twelve FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row4Stride2<T>(float* p, int cp, T k0, T k1, T k2, ref T a0, ref T a1, ref T a2, ref T a3)
        where T : struct, IBlock16<T>
    {
        T x0 = T.Load(p);
        T x1 = T.Load(p + cp);
        T x2 = T.Load(p + (2 * cp));
        a0 = T.MultiplyAdd(x0, k0, a0);
        a0 = T.MultiplyAdd(x1, k1, a0);
        a0 = T.MultiplyAdd(x2, k2, a0);
        a1 = T.MultiplyAdd(x2, k0, a1);
        T x3 = T.Load(p + (3 * cp));
        T x4 = T.Load(p + (4 * cp));
        a1 = T.MultiplyAdd(x3, k1, a1);
        a1 = T.MultiplyAdd(x4, k2, a1);
        a2 = T.MultiplyAdd(x4, k0, a2);
        T x5 = T.Load(p + (5 * cp));
        T x6 = T.Load(p + (6 * cp));
        a2 = T.MultiplyAdd(x5, k1, a2);
        a2 = T.MultiplyAdd(x6, k2, a2);
        a3 = T.MultiplyAdd(x6, k0, a3);
        T x7 = T.Load(p + (7 * cp));
        T x8 = T.Load(p + (8 * cp));
        a3 = T.MultiplyAdd(x7, k1, a3);
        a3 = T.MultiplyAdd(x8, k2, a3);
    }

    /// <summary>One kernel row of four adjacent stride-1 outputs: six input vectors, twelve FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row4<T>(float* p, int cp, T k0, T k1, T k2, ref T a0, ref T a1, ref T a2, ref T a3)
        where T : struct, IBlock16<T>
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
}
