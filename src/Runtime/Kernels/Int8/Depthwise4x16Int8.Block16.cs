using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The interior tile of <see cref="DepthwiseConv3x3Int8"/>: 4 adjacent output pixels x 16 channels per step, so each
/// input vector (u8, converted to float once) serves up to three outputs at stride 1 (18 conversions for 36 FMAs instead
/// of 36) and up to two at stride 2 (27 instead of 36); the 1-3 pixels left over, and other strides, take 1 pixel x 16
/// channels. The sums are exact integers in float (docs/quantization.md).
/// </summary>
internal static unsafe class Depthwise4x16Int8Block16
{
    /// <summary>
    /// The interior columns of one output row, every channel block: <paramref name="count"/> pixels whose nine taps all
    /// lie inside the input, the epilogue fused.
    /// </summary>
    /// <param name="inStart">Tap (0, 0) of the first pixel: input <c>(oy*stride-1, x0*stride-1)</c>.</param>
    /// <param name="outStart">The first output pixel.</param>
    /// <param name="count">Pixels in the run.</param>
    /// <param name="cp">Channels padded (the pixel stride of input and output, in elements).</param>
    /// <param name="blocks">Blocks of 16 channels (<c>cp / 16</c>).</param>
    /// <param name="rowStride">Bytes per input row.</param>
    /// <param name="step">Bytes between the taps of adjacent output pixels (<c>stride * cp</c>).</param>
    /// <param name="stride">Stride.</param>
    /// <param name="weights">Packed weight <c>[9][CP]</c>, integer-valued floats.</param>
    /// <param name="bias">Int32 bias <c>[CP]</c>.</param>
    /// <param name="scale">Multipliers <c>[CP]</c>.</param>
    /// <param name="biasInSum">
    /// Whether the sums start at <c>(float)bias</c> (every |bias| small enough that bias plus nine products stays an exact
    /// float integer, <see cref="DepthwiseConv3x3Int8.MaxBiasInSum"/>) rather than at 0 with the bias added as int32 at the end.
    /// </param>
    /// <typeparam name="T">The level's block.</typeparam>
    /// <typeparam name="TOut">Requantized bytes or dequantized floats.</typeparam>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void Row<T, TOut>(
        byte* inStart, byte* outStart, int count, int cp, int blocks, nint rowStride, nint step, int stride,
        float* weights, int* bias, float* scale, bool biasInSum)
        where T : struct, IInt8Block16<T>
        where TOut : struct, IInt8Output
    {
        nint outPixel = (nint)cp * TOut.ElementSize;
        int groups = stride <= 2 ? count / 4 : 0;
        for (int b = 0; b < blocks; b++)
        {
            byte* p = inStart + (b * 16);
            byte* o = outStart + (b * 16 * TOut.ElementSize);
            float* w = weights + (b * 16);
            int* bb = bias + (b * 16);
            float* sb = scale + (b * 16);
            if (groups > 0)
            {
                if (stride == 1)
                {
                    Stride1Groups<T, TOut>(p, o, groups, cp, rowStride, outPixel, w, bb, sb, biasInSum);
                }
                else
                {
                    Stride2Groups<T, TOut>(p, o, groups, cp, rowStride, outPixel, w, bb, sb, biasInSum);
                }
            }

            int done = groups * 4;
            if (done < count)
            {
                Pixels<T, TOut>(p + (done * step), o + (done * outPixel), count - done, cp, rowStride, step, outPixel, w, bb, sb, biasInSum);
            }
        }
    }

    /// <summary>Groups of four adjacent stride-1 outputs of one channel block: each input vector serves up to three of them.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Stride1Groups<T, TOut>(
        byte* p, byte* o, int groups, int cp, nint rowStride, nint outPixel, float* w, int* bias, float* scale, bool biasInSum)
        where T : struct, IInt8Block16<T>
        where TOut : struct, IInt8Output
    {
        T w0 = T.Load(w), w1 = T.Load(w + cp), w2 = T.Load(w + (2 * cp));
        T w3 = T.Load(w + (3 * cp)), w4 = T.Load(w + (4 * cp)), w5 = T.Load(w + (5 * cp));
        T w6 = T.Load(w + (6 * cp)), w7 = T.Load(w + (7 * cp)), w8 = T.Load(w + (8 * cp));
        for (int g = 0; g < groups; g++)
        {
            T a0 = biasInSum ? T.LoadBias(bias) : T.Zero;
            T a1 = a0, a2 = a0, a3 = a0;
            Row4Stride1(p, cp, w0, w1, w2, ref a0, ref a1, ref a2, ref a3);
            Row4Stride1(p + rowStride, cp, w3, w4, w5, ref a0, ref a1, ref a2, ref a3);
            Row4Stride1(p + (2 * rowStride), cp, w6, w7, w8, ref a0, ref a1, ref a2, ref a3);
            Finish<T, TOut>(o, a0, bias, scale, biasInSum);
            Finish<T, TOut>(o + outPixel, a1, bias, scale, biasInSum);
            Finish<T, TOut>(o + (2 * outPixel), a2, bias, scale, biasInSum);
            Finish<T, TOut>(o + (3 * outPixel), a3, bias, scale, biasInSum);
            p += 4 * cp;
            o += 4 * outPixel;
        }
    }

    /// <summary>Groups of four adjacent stride-2 outputs of one channel block: adjacent outputs share one input column.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Stride2Groups<T, TOut>(
        byte* p, byte* o, int groups, int cp, nint rowStride, nint outPixel, float* w, int* bias, float* scale, bool biasInSum)
        where T : struct, IInt8Block16<T>
        where TOut : struct, IInt8Output
    {
        T w0 = T.Load(w), w1 = T.Load(w + cp), w2 = T.Load(w + (2 * cp));
        T w3 = T.Load(w + (3 * cp)), w4 = T.Load(w + (4 * cp)), w5 = T.Load(w + (5 * cp));
        T w6 = T.Load(w + (6 * cp)), w7 = T.Load(w + (7 * cp)), w8 = T.Load(w + (8 * cp));
        for (int g = 0; g < groups; g++)
        {
            T a0 = biasInSum ? T.LoadBias(bias) : T.Zero;
            T a1 = a0, a2 = a0, a3 = a0;
            Row4Stride2(p, cp, w0, w1, w2, ref a0, ref a1, ref a2, ref a3);
            Row4Stride2(p + rowStride, cp, w3, w4, w5, ref a0, ref a1, ref a2, ref a3);
            Row4Stride2(p + (2 * rowStride), cp, w6, w7, w8, ref a0, ref a1, ref a2, ref a3);
            Finish<T, TOut>(o, a0, bias, scale, biasInSum);
            Finish<T, TOut>(o + outPixel, a1, bias, scale, biasInSum);
            Finish<T, TOut>(o + (2 * outPixel), a2, bias, scale, biasInSum);
            Finish<T, TOut>(o + (3 * outPixel), a3, bias, scale, biasInSum);
            p += 8 * cp;
            o += 4 * outPixel;
        }
    }

    /// <summary>One output pixel at a time (the 1-3 left over, and strides above 2) of one channel block.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Pixels<T, TOut>(
        byte* p, byte* o, int count, int cp, nint rowStride, nint step, nint outPixel, float* w, int* bias, float* scale, bool biasInSum)
        where T : struct, IInt8Block16<T>
        where TOut : struct, IInt8Output
    {
        for (int i = 0; i < count; i++)
        {
            byte* q = p + rowStride;
            byte* r = q + rowStride;
            T top = T.MultiplyAdd(T.LoadBytes(p), T.Load(w), biasInSum ? T.LoadBias(bias) : T.Zero);
            T mid = T.Multiply(T.LoadBytes(q), T.Load(w + (3 * cp)));
            T bot = T.Multiply(T.LoadBytes(r), T.Load(w + (6 * cp)));
            top = T.MultiplyAdd(T.LoadBytes(p + cp), T.Load(w + cp), top);
            mid = T.MultiplyAdd(T.LoadBytes(q + cp), T.Load(w + (4 * cp)), mid);
            bot = T.MultiplyAdd(T.LoadBytes(r + cp), T.Load(w + (7 * cp)), bot);
            top = T.MultiplyAdd(T.LoadBytes(p + (2 * cp)), T.Load(w + (2 * cp)), top);
            mid = T.MultiplyAdd(T.LoadBytes(q + (2 * cp)), T.Load(w + (5 * cp)), mid);
            bot = T.MultiplyAdd(T.LoadBytes(r + (2 * cp)), T.Load(w + (8 * cp)), bot);
            Finish<T, TOut>(o, T.Add(T.Add(top, mid), bot), bias, scale, biasInSum);
            p += step;
            o += outPixel;
        }
    }

    /// <summary>The epilogue of one output block: the bias is in the sum already, or is added as int32 now.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Finish<T, TOut>(byte* o, T sum, int* bias, float* scale, bool biasInSum)
        where T : struct, IInt8Block16<T>
        where TOut : struct, IInt8Output
    {
        if (biasInSum)
        {
            Int8Block16Epilogue.StoreAccumulator<T, TOut>(o, sum, scale);
        }
        else
        {
            Int8Block16Epilogue.Store<T, TOut>(o, sum, bias, scale);
        }
    }

    /// <summary>One kernel row of four adjacent stride-1 outputs: six input vectors, twelve FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row4Stride1<T>(byte* p, int cp, T k0, T k1, T k2, ref T a0, ref T a1, ref T a2, ref T a3)
        where T : struct, IInt8Block16<T>
    {
        T x0 = T.LoadBytes(p);
        T x1 = T.LoadBytes(p + cp);
        T x2 = T.LoadBytes(p + (2 * cp));
        a0 = T.MultiplyAdd(x0, k0, a0);
        a0 = T.MultiplyAdd(x1, k1, a0);
        a1 = T.MultiplyAdd(x1, k0, a1);
        a0 = T.MultiplyAdd(x2, k2, a0);
        a1 = T.MultiplyAdd(x2, k1, a1);
        a2 = T.MultiplyAdd(x2, k0, a2);
        T x3 = T.LoadBytes(p + (3 * cp));
        a1 = T.MultiplyAdd(x3, k2, a1);
        a2 = T.MultiplyAdd(x3, k1, a2);
        a3 = T.MultiplyAdd(x3, k0, a3);
        T x4 = T.LoadBytes(p + (4 * cp));
        a2 = T.MultiplyAdd(x4, k2, a2);
        a3 = T.MultiplyAdd(x4, k1, a3);
        T x5 = T.LoadBytes(p + (5 * cp));
        a3 = T.MultiplyAdd(x5, k2, a3);
    }

    /// <summary>One kernel row of four adjacent stride-2 outputs: nine input vectors, twelve FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row4Stride2<T>(byte* p, int cp, T k0, T k1, T k2, ref T a0, ref T a1, ref T a2, ref T a3)
        where T : struct, IInt8Block16<T>
    {
        T x = T.LoadBytes(p);
        a0 = T.MultiplyAdd(x, k0, a0);
        a0 = T.MultiplyAdd(T.LoadBytes(p + cp), k1, a0);
        x = T.LoadBytes(p + (2 * cp));
        a0 = T.MultiplyAdd(x, k2, a0);
        a1 = T.MultiplyAdd(x, k0, a1);
        a1 = T.MultiplyAdd(T.LoadBytes(p + (3 * cp)), k1, a1);
        x = T.LoadBytes(p + (4 * cp));
        a1 = T.MultiplyAdd(x, k2, a1);
        a2 = T.MultiplyAdd(x, k0, a2);
        a2 = T.MultiplyAdd(T.LoadBytes(p + (5 * cp)), k1, a2);
        x = T.LoadBytes(p + (6 * cp));
        a2 = T.MultiplyAdd(x, k2, a2);
        a3 = T.MultiplyAdd(x, k0, a3);
        a3 = T.MultiplyAdd(T.LoadBytes(p + (7 * cp)), k1, a3);
        a3 = T.MultiplyAdd(T.LoadBytes(p + (8 * cp)), k2, a3);
    }
}
