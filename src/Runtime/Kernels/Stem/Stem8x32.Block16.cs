using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The wide interior tile of <see cref="StemConv3x3"/>: 8 output pixels x 32 output channels, 16 accumulators (as
/// the pointwise tile <see cref="Gemm14x32Avx512"/> on 8 rows). Written over <see cref="IBlock16{T}"/> but used only with
/// <see cref="Block16Vector512"/> (<see cref="StemBlock16"/> tests the type; the JIT folds the test), the one block
/// whose 16 accumulators and 2 weight vectors fit the register file.
/// </summary>
internal static unsafe class Stem8x32Block16
{
    /// <summary>
    /// Interior columns [<paramref name="oxBegin"/>, <paramref name="oxEnd"/>) of one output row (a multiple of 8 of
    /// them) for two blocks of 16 output channels: 8 pixels x 32 channels per step, each weight vector loaded once for
    /// 8 pixels and each input value broadcast once for both blocks.
    /// </summary>
    /// <typeparam name="T">The level's 16-float block.</typeparam>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Run<T>(
        float* inRow, int inChannels, int plane, int inWidth, int s, float* weights, int blockWeights, float* bias,
        float* outRow, int cp, int oxBegin, int oxEnd, bool relu)
        where T : struct, IBlock16<T>
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
}
