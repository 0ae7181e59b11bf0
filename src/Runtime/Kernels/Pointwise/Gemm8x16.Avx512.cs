// Written out by hand-unrolling (one accumulator per pixel row) so that RyuJIT keeps all accumulators in zmm registers.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MobileOne.Runtime;

/// <summary>
/// The Vector512 (AVX-512F) tile of <see cref="PointwiseConv"/> for an odd last block: up to 8 pixels (<c>R.Count</c>,
/// 1-8) x 16 output channels, 8 zmm accumulators; broadcasts fold into the FMA.
/// </summary>
internal static unsafe class Gemm8x16Avx512
{
    /// <summary>Computes <c>R.Count</c> pixels x 16 output channels, bias and optional ReLU fused.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void Run<R>(float* a, nint cinP, int cin, float* w, float* bias, float* o, nint outStride, bool relu)
        where R : struct, IRowCount
    {
        Vector512<float> b0 = Vector512.Load(bias + 0);
        Vector512<float> c00 = b0;
        Vector512<float> c10 = b0;
        Vector512<float> c20 = b0;
        Vector512<float> c30 = b0;
        Vector512<float> c40 = b0;
        Vector512<float> c50 = b0;
        Vector512<float> c60 = b0;
        Vector512<float> c70 = b0;
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
            Vector512<float> x0 = Vector512.Create(a[k]);
            c00 = Avx512F.FusedMultiplyAdd(x0, wa, c00);

            if (R.Count > 1)
            {
                Vector512<float> x1 = Vector512.Create(a1[k]);
                c10 = Avx512F.FusedMultiplyAdd(x1, wa, c10);
            }

            if (R.Count > 2)
            {
                Vector512<float> x2 = Vector512.Create(a2[k]);
                c20 = Avx512F.FusedMultiplyAdd(x2, wa, c20);
            }

            if (R.Count > 3)
            {
                Vector512<float> x3 = Vector512.Create(a3[k]);
                c30 = Avx512F.FusedMultiplyAdd(x3, wa, c30);
            }

            if (R.Count > 4)
            {
                Vector512<float> x4 = Vector512.Create(a4[k]);
                c40 = Avx512F.FusedMultiplyAdd(x4, wa, c40);
            }

            if (R.Count > 5)
            {
                Vector512<float> x5 = Vector512.Create(a5[k]);
                c50 = Avx512F.FusedMultiplyAdd(x5, wa, c50);
            }

            if (R.Count > 6)
            {
                Vector512<float> x6 = Vector512.Create(a6[k]);
                c60 = Avx512F.FusedMultiplyAdd(x6, wa, c60);
            }

            if (R.Count > 7)
            {
                Vector512<float> x7 = Vector512.Create(a7[k]);
                c70 = Avx512F.FusedMultiplyAdd(x7, wa, c70);
            }
            w += 16;
        }

        if (relu)
        {
            c00 = Vector512.Max(c00, Vector512<float>.Zero);
            c10 = Vector512.Max(c10, Vector512<float>.Zero);
            c20 = Vector512.Max(c20, Vector512<float>.Zero);
            c30 = Vector512.Max(c30, Vector512<float>.Zero);
            c40 = Vector512.Max(c40, Vector512<float>.Zero);
            c50 = Vector512.Max(c50, Vector512<float>.Zero);
            c60 = Vector512.Max(c60, Vector512<float>.Zero);
            c70 = Vector512.Max(c70, Vector512<float>.Zero);
        }

        c00.Store(o + 0);
        if (R.Count > 1)
        {
            o += outStride;
            c10.Store(o + 0);
        }
        if (R.Count > 2)
        {
            o += outStride;
            c20.Store(o + 0);
        }
        if (R.Count > 3)
        {
            o += outStride;
            c30.Store(o + 0);
        }
        if (R.Count > 4)
        {
            o += outStride;
            c40.Store(o + 0);
        }
        if (R.Count > 5)
        {
            o += outStride;
            c50.Store(o + 0);
        }
        if (R.Count > 6)
        {
            o += outStride;
            c60.Store(o + 0);
        }
        if (R.Count > 7)
        {
            o += outStride;
            c70.Store(o + 0);
        }
    }
}
