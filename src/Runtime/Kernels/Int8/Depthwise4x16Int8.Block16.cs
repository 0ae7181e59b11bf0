using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The interior tile of <see cref="DepthwiseConv3x3Int8"/>: 4 adjacent output pixels x 16 channels per step at stride 1,
/// so each input vector (u8, converted to float once) serves up to three outputs; the 1-3 pixels left over, and every
/// pixel at stride 2, take 1 pixel x 16 channels. The sums are exact integers in float (docs/quantization.md).
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
    /// <typeparam name="T">The level's block.</typeparam>
    /// <typeparam name="TOut">Requantized bytes or dequantized floats.</typeparam>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void Row<T, TOut>(
        byte* inStart, byte* outStart, int count, int cp, int blocks, nint rowStride, nint step, int stride,
        float* weights, int* bias, float* scale)
        where T : struct, IInt8Block16<T>
        where TOut : struct, IInt8Output
    {
        nint outPixel = (nint)cp * TOut.ElementSize;
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
            int* bb = bias + (b * 16);
            float* sb = scale + (b * 16);
            byte* p = inStart + (b * 16);
            byte* o = outStart + (b * 16 * TOut.ElementSize);
            int i = 0;
            if (stride == 1)
            {
                // Four output pixels at once: each input vector converted once serves up to three of them.
                for (; i + 4 <= count; i += 4)
                {
                    T a0 = T.Zero, a1 = T.Zero, a2 = T.Zero, a3 = T.Zero;
                    Row4(p, cp, w0, w1, w2, ref a0, ref a1, ref a2, ref a3);
                    Row4(p + rowStride, cp, w3, w4, w5, ref a0, ref a1, ref a2, ref a3);
                    Row4(p + (2 * rowStride), cp, w6, w7, w8, ref a0, ref a1, ref a2, ref a3);
                    Int8Block16Epilogue.Store<T, TOut>(o, a0, bb, sb);
                    Int8Block16Epilogue.Store<T, TOut>(o + outPixel, a1, bb, sb);
                    Int8Block16Epilogue.Store<T, TOut>(o + (2 * outPixel), a2, bb, sb);
                    Int8Block16Epilogue.Store<T, TOut>(o + (3 * outPixel), a3, bb, sb);
                    p += 4 * cp;
                    o += 4 * outPixel;
                }
            }

            for (; i < count; i++)
            {
                byte* q = p + rowStride;
                byte* r = q + rowStride;
                T top = T.Multiply(T.LoadBytes(p), w0);
                T mid = T.Multiply(T.LoadBytes(q), w3);
                T bot = T.Multiply(T.LoadBytes(r), w6);
                top = T.MultiplyAdd(T.LoadBytes(p + cp), w1, top);
                mid = T.MultiplyAdd(T.LoadBytes(q + cp), w4, mid);
                bot = T.MultiplyAdd(T.LoadBytes(r + cp), w7, bot);
                top = T.MultiplyAdd(T.LoadBytes(p + (2 * cp)), w2, top);
                mid = T.MultiplyAdd(T.LoadBytes(q + (2 * cp)), w5, mid);
                bot = T.MultiplyAdd(T.LoadBytes(r + (2 * cp)), w8, bot);
                Int8Block16Epilogue.Store<T, TOut>(o, T.Add(T.Add(top, mid), bot), bb, sb);
                p += step;
                o += outPixel;
            }
        }
    }

    /// <summary>One kernel row of four adjacent stride-1 outputs: six input vectors, twelve FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row4<T>(byte* p, int cp, T k0, T k1, T k2, ref T a0, ref T a1, ref T a2, ref T a3)
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
}
