// Written out by hand-unrolling (one accumulator pair per pixel row) so that RyuJIT keeps all accumulators in zmm registers.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MobileOne.Runtime;

/// <summary>
/// The Vector512 (AVX-512F) tile of <see cref="PointwiseConv"/>: up to 8 pixels (<c>R.Count</c>, 1-8) x 32 output
/// channels (two adjacent <c>[Cin][16]</c> weight panels), 16 zmm accumulators; broadcasts fold into the FMA.
/// </summary>
internal static unsafe class Gemm8x32Avx512
{
    /// <summary>Computes <c>R.Count</c> pixels x 32 output channels, bias and optional ReLU fused.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void Run<R>(float* a, nint cinP, int cin, float* w, nint panel, float* bias, float* o, nint outStride, bool relu)
        where R : struct, IRowCount
    {
        Vector512<float> b0 = Vector512.Load(bias + 0);
        Vector512<float> b1 = Vector512.Load(bias + 16);
        Vector512<float> c00 = b0; Vector512<float> c01 = b1;
        Vector512<float> c10 = b0; Vector512<float> c11 = b1;
        Vector512<float> c20 = b0; Vector512<float> c21 = b1;
        Vector512<float> c30 = b0; Vector512<float> c31 = b1;
        Vector512<float> c40 = b0; Vector512<float> c41 = b1;
        Vector512<float> c50 = b0; Vector512<float> c51 = b1;
        Vector512<float> c60 = b0; Vector512<float> c61 = b1;
        Vector512<float> c70 = b0; Vector512<float> c71 = b1;
        float* w1 = w + panel;
        float* a1 = a + (1 * cinP);
        float* a2 = a + (2 * cinP);
        float* a3 = a + (3 * cinP);
        float* a4 = a + (4 * cinP);
        float* a5 = a + (5 * cinP);
        float* a6 = a + (6 * cinP);
        float* a7 = a + (7 * cinP);
        for (int k = 0; k < cin; k++)
        {
            Vector512<float> wa = Vector512.Load(w);
            Vector512<float> wb = Vector512.Load(w1);
            Vector512<float> x0 = Vector512.Create(a[k]);
            c00 = Avx512F.FusedMultiplyAdd(x0, wa, c00);
            c01 = Avx512F.FusedMultiplyAdd(x0, wb, c01);

            if (R.Count > 1)
            {
                Vector512<float> x1 = Vector512.Create(a1[k]);
                c10 = Avx512F.FusedMultiplyAdd(x1, wa, c10);
                c11 = Avx512F.FusedMultiplyAdd(x1, wb, c11);
            }

            if (R.Count > 2)
            {
                Vector512<float> x2 = Vector512.Create(a2[k]);
                c20 = Avx512F.FusedMultiplyAdd(x2, wa, c20);
                c21 = Avx512F.FusedMultiplyAdd(x2, wb, c21);
            }

            if (R.Count > 3)
            {
                Vector512<float> x3 = Vector512.Create(a3[k]);
                c30 = Avx512F.FusedMultiplyAdd(x3, wa, c30);
                c31 = Avx512F.FusedMultiplyAdd(x3, wb, c31);
            }

            if (R.Count > 4)
            {
                Vector512<float> x4 = Vector512.Create(a4[k]);
                c40 = Avx512F.FusedMultiplyAdd(x4, wa, c40);
                c41 = Avx512F.FusedMultiplyAdd(x4, wb, c41);
            }

            if (R.Count > 5)
            {
                Vector512<float> x5 = Vector512.Create(a5[k]);
                c50 = Avx512F.FusedMultiplyAdd(x5, wa, c50);
                c51 = Avx512F.FusedMultiplyAdd(x5, wb, c51);
            }

            if (R.Count > 6)
            {
                Vector512<float> x6 = Vector512.Create(a6[k]);
                c60 = Avx512F.FusedMultiplyAdd(x6, wa, c60);
                c61 = Avx512F.FusedMultiplyAdd(x6, wb, c61);
            }

            if (R.Count > 7)
            {
                Vector512<float> x7 = Vector512.Create(a7[k]);
                c70 = Avx512F.FusedMultiplyAdd(x7, wa, c70);
                c71 = Avx512F.FusedMultiplyAdd(x7, wb, c71);
            }
            w += 16;
            w1 += 16;
        }

        if (relu)
        {
            c00 = Vector512.Max(c00, Vector512<float>.Zero);
            c01 = Vector512.Max(c01, Vector512<float>.Zero);
            c10 = Vector512.Max(c10, Vector512<float>.Zero);
            c11 = Vector512.Max(c11, Vector512<float>.Zero);
            c20 = Vector512.Max(c20, Vector512<float>.Zero);
            c21 = Vector512.Max(c21, Vector512<float>.Zero);
            c30 = Vector512.Max(c30, Vector512<float>.Zero);
            c31 = Vector512.Max(c31, Vector512<float>.Zero);
            c40 = Vector512.Max(c40, Vector512<float>.Zero);
            c41 = Vector512.Max(c41, Vector512<float>.Zero);
            c50 = Vector512.Max(c50, Vector512<float>.Zero);
            c51 = Vector512.Max(c51, Vector512<float>.Zero);
            c60 = Vector512.Max(c60, Vector512<float>.Zero);
            c61 = Vector512.Max(c61, Vector512<float>.Zero);
            c70 = Vector512.Max(c70, Vector512<float>.Zero);
            c71 = Vector512.Max(c71, Vector512<float>.Zero);
        }

        c00.Store(o + 0);
        c01.Store(o + 16);
        if (R.Count > 1)
        {
            o += outStride;
            c10.Store(o + 0);
            c11.Store(o + 16);
        }
        if (R.Count > 2)
        {
            o += outStride;
            c20.Store(o + 0);
            c21.Store(o + 16);
        }
        if (R.Count > 3)
        {
            o += outStride;
            c30.Store(o + 0);
            c31.Store(o + 16);
        }
        if (R.Count > 4)
        {
            o += outStride;
            c40.Store(o + 0);
            c41.Store(o + 16);
        }
        if (R.Count > 5)
        {
            o += outStride;
            c50.Store(o + 0);
            c51.Store(o + 16);
        }
        if (R.Count > 6)
        {
            o += outStride;
            c60.Store(o + 0);
            c61.Store(o + 16);
        }
        if (R.Count > 7)
        {
            o += outStride;
            c70.Store(o + 0);
            c71.Store(o + 16);
        }
    }
}
