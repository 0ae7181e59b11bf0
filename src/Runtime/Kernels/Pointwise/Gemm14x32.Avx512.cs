// Written out by hand-unrolling (one accumulator pair per pixel row) so that RyuJIT keeps all 28 accumulators in zmm registers.
// Rows are addressed from five base pointers (rows 0, 3, 6, 9, 12) plus one or two row strides, so the loop needs 11
// general-purpose registers, not 14 row pointers (x64 has 15).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MobileOne.Runtime;

/// <summary>
/// The Vector512 (AVX-512F) tile of <see cref="PointwiseConv"/>: up to 14 pixels (<c>R.Count</c>, 1-14) x 32 output
/// channels (two adjacent <c>[Cin][16]</c> weight panels), 28 zmm accumulators, two weight vectors and one broadcast.
/// Per input channel: 2 weight loads and <c>R.Count</c> broadcasts for <c>2 * R.Count</c> FMAs. Each iteration also
/// issues one <c>prefetcht1</c> at the <c>prefetch</c> argument (advanced 64 bytes per input channel), which the driver
/// points at the next weight panel pair so that it is in L2 before its first tile (see <see cref="PointwiseAvx512"/>).
/// </summary>
internal static unsafe class Gemm14x32Avx512
{
    /// <summary>Computes <c>R.Count</c> pixels x 32 output channels, bias and optional ReLU fused.</summary>
    /// <param name="a">First input row (NHWC-16).</param>
    /// <param name="cinP">Input row stride in floats.</param>
    /// <param name="cin">Input channels (the loop count).</param>
    /// <param name="w">The first of the two <c>[Cin][16]</c> panels; the second starts <paramref name="panel"/> floats later.</param>
    /// <param name="panel">Floats per panel (<c>cin * 16</c>).</param>
    /// <param name="bias">32 bias values.</param>
    /// <param name="o">First output row.</param>
    /// <param name="outStride">Output row stride in floats.</param>
    /// <param name="relu">Whether to apply ReLU.</param>
    /// <param name="prefetch">Where to prefetch (into L2) <paramref name="cin"/> cache lines from; any readable address.</param>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void Run<R>(float* a, nint cinP, int cin, float* w, nint panel, float* bias, float* o, nint outStride, bool relu, float* prefetch)
        where R : struct, IRowCount
    {
        Vector512<float> b0 = Vector512.Load(bias + 0);
        Vector512<float> b1 = Vector512.Load(bias + 16);
        Vector512<float> c0a = b0; Vector512<float> c0b = b1;
        Vector512<float> c1a = b0; Vector512<float> c1b = b1;
        Vector512<float> c2a = b0; Vector512<float> c2b = b1;
        Vector512<float> c3a = b0; Vector512<float> c3b = b1;
        Vector512<float> c4a = b0; Vector512<float> c4b = b1;
        Vector512<float> c5a = b0; Vector512<float> c5b = b1;
        Vector512<float> c6a = b0; Vector512<float> c6b = b1;
        Vector512<float> c7a = b0; Vector512<float> c7b = b1;
        Vector512<float> c8a = b0; Vector512<float> c8b = b1;
        Vector512<float> c9a = b0; Vector512<float> c9b = b1;
        Vector512<float> c10a = b0; Vector512<float> c10b = b1;
        Vector512<float> c11a = b0; Vector512<float> c11b = b1;
        Vector512<float> c12a = b0; Vector512<float> c12b = b1;
        Vector512<float> c13a = b0; Vector512<float> c13b = b1;
        nint cinP2 = cinP * 2;
        float* a3 = a + (3 * cinP);
        float* a6 = a + (6 * cinP);
        float* a9 = a + (9 * cinP);
        float* a12 = a + (12 * cinP);
        float* end = w + ((nint)cin * 16);
        while (w < end)
        {
            Vector512<float> wa = Vector512.Load(w);
            Vector512<float> wb = Vector512.Load(w + panel);
            {
                Vector512<float> x = Vector512.Create(*a);
                c0a = Avx512F.FusedMultiplyAdd(x, wa, c0a);
                c0b = Avx512F.FusedMultiplyAdd(x, wb, c0b);
            }

            if (R.Count > 1)
            {
                Vector512<float> x = Vector512.Create(*(a + cinP));
                c1a = Avx512F.FusedMultiplyAdd(x, wa, c1a);
                c1b = Avx512F.FusedMultiplyAdd(x, wb, c1b);
            }

            if (R.Count > 2)
            {
                Vector512<float> x = Vector512.Create(*(a + cinP2));
                c2a = Avx512F.FusedMultiplyAdd(x, wa, c2a);
                c2b = Avx512F.FusedMultiplyAdd(x, wb, c2b);
            }

            if (R.Count > 3)
            {
                Vector512<float> x = Vector512.Create(*(a3));
                c3a = Avx512F.FusedMultiplyAdd(x, wa, c3a);
                c3b = Avx512F.FusedMultiplyAdd(x, wb, c3b);
            }

            if (R.Count > 4)
            {
                Vector512<float> x = Vector512.Create(*(a3 + cinP));
                c4a = Avx512F.FusedMultiplyAdd(x, wa, c4a);
                c4b = Avx512F.FusedMultiplyAdd(x, wb, c4b);
            }

            if (R.Count > 5)
            {
                Vector512<float> x = Vector512.Create(*(a3 + cinP2));
                c5a = Avx512F.FusedMultiplyAdd(x, wa, c5a);
                c5b = Avx512F.FusedMultiplyAdd(x, wb, c5b);
            }

            if (R.Count > 6)
            {
                Vector512<float> x = Vector512.Create(*(a6));
                c6a = Avx512F.FusedMultiplyAdd(x, wa, c6a);
                c6b = Avx512F.FusedMultiplyAdd(x, wb, c6b);
            }

            if (R.Count > 7)
            {
                Vector512<float> x = Vector512.Create(*(a6 + cinP));
                c7a = Avx512F.FusedMultiplyAdd(x, wa, c7a);
                c7b = Avx512F.FusedMultiplyAdd(x, wb, c7b);
            }

            if (R.Count > 8)
            {
                Vector512<float> x = Vector512.Create(*(a6 + cinP2));
                c8a = Avx512F.FusedMultiplyAdd(x, wa, c8a);
                c8b = Avx512F.FusedMultiplyAdd(x, wb, c8b);
            }

            if (R.Count > 9)
            {
                Vector512<float> x = Vector512.Create(*(a9));
                c9a = Avx512F.FusedMultiplyAdd(x, wa, c9a);
                c9b = Avx512F.FusedMultiplyAdd(x, wb, c9b);
            }

            if (R.Count > 10)
            {
                Vector512<float> x = Vector512.Create(*(a9 + cinP));
                c10a = Avx512F.FusedMultiplyAdd(x, wa, c10a);
                c10b = Avx512F.FusedMultiplyAdd(x, wb, c10b);
            }

            if (R.Count > 11)
            {
                Vector512<float> x = Vector512.Create(*(a9 + cinP2));
                c11a = Avx512F.FusedMultiplyAdd(x, wa, c11a);
                c11b = Avx512F.FusedMultiplyAdd(x, wb, c11b);
            }

            if (R.Count > 12)
            {
                Vector512<float> x = Vector512.Create(*(a12));
                c12a = Avx512F.FusedMultiplyAdd(x, wa, c12a);
                c12b = Avx512F.FusedMultiplyAdd(x, wb, c12b);
            }

            if (R.Count > 13)
            {
                Vector512<float> x = Vector512.Create(*(a12 + cinP));
                c13a = Avx512F.FusedMultiplyAdd(x, wa, c13a);
                c13b = Avx512F.FusedMultiplyAdd(x, wb, c13b);
            }

            Sse.Prefetch1(prefetch);
            prefetch += 16;
            a++;
            a3++;
            a6++;
            a9++;
            a12++;
            w += 16;
        }

        if (relu)
        {
            c0a = Vector512.Max(c0a, Vector512<float>.Zero);
            c0b = Vector512.Max(c0b, Vector512<float>.Zero);
            c1a = Vector512.Max(c1a, Vector512<float>.Zero);
            c1b = Vector512.Max(c1b, Vector512<float>.Zero);
            c2a = Vector512.Max(c2a, Vector512<float>.Zero);
            c2b = Vector512.Max(c2b, Vector512<float>.Zero);
            c3a = Vector512.Max(c3a, Vector512<float>.Zero);
            c3b = Vector512.Max(c3b, Vector512<float>.Zero);
            c4a = Vector512.Max(c4a, Vector512<float>.Zero);
            c4b = Vector512.Max(c4b, Vector512<float>.Zero);
            c5a = Vector512.Max(c5a, Vector512<float>.Zero);
            c5b = Vector512.Max(c5b, Vector512<float>.Zero);
            c6a = Vector512.Max(c6a, Vector512<float>.Zero);
            c6b = Vector512.Max(c6b, Vector512<float>.Zero);
            c7a = Vector512.Max(c7a, Vector512<float>.Zero);
            c7b = Vector512.Max(c7b, Vector512<float>.Zero);
            c8a = Vector512.Max(c8a, Vector512<float>.Zero);
            c8b = Vector512.Max(c8b, Vector512<float>.Zero);
            c9a = Vector512.Max(c9a, Vector512<float>.Zero);
            c9b = Vector512.Max(c9b, Vector512<float>.Zero);
            c10a = Vector512.Max(c10a, Vector512<float>.Zero);
            c10b = Vector512.Max(c10b, Vector512<float>.Zero);
            c11a = Vector512.Max(c11a, Vector512<float>.Zero);
            c11b = Vector512.Max(c11b, Vector512<float>.Zero);
            c12a = Vector512.Max(c12a, Vector512<float>.Zero);
            c12b = Vector512.Max(c12b, Vector512<float>.Zero);
            c13a = Vector512.Max(c13a, Vector512<float>.Zero);
            c13b = Vector512.Max(c13b, Vector512<float>.Zero);
        }

        c0a.Store(o + 0);
        c0b.Store(o + 16);
        if (R.Count > 1)
        {
            o += outStride;
            c1a.Store(o + 0);
            c1b.Store(o + 16);
        }

        if (R.Count > 2)
        {
            o += outStride;
            c2a.Store(o + 0);
            c2b.Store(o + 16);
        }

        if (R.Count > 3)
        {
            o += outStride;
            c3a.Store(o + 0);
            c3b.Store(o + 16);
        }

        if (R.Count > 4)
        {
            o += outStride;
            c4a.Store(o + 0);
            c4b.Store(o + 16);
        }

        if (R.Count > 5)
        {
            o += outStride;
            c5a.Store(o + 0);
            c5b.Store(o + 16);
        }

        if (R.Count > 6)
        {
            o += outStride;
            c6a.Store(o + 0);
            c6b.Store(o + 16);
        }

        if (R.Count > 7)
        {
            o += outStride;
            c7a.Store(o + 0);
            c7b.Store(o + 16);
        }

        if (R.Count > 8)
        {
            o += outStride;
            c8a.Store(o + 0);
            c8b.Store(o + 16);
        }

        if (R.Count > 9)
        {
            o += outStride;
            c9a.Store(o + 0);
            c9b.Store(o + 16);
        }

        if (R.Count > 10)
        {
            o += outStride;
            c10a.Store(o + 0);
            c10b.Store(o + 16);
        }

        if (R.Count > 11)
        {
            o += outStride;
            c11a.Store(o + 0);
            c11b.Store(o + 16);
        }

        if (R.Count > 12)
        {
            o += outStride;
            c12a.Store(o + 0);
            c12b.Store(o + 16);
        }

        if (R.Count > 13)
        {
            o += outStride;
            c13a.Store(o + 0);
            c13b.Store(o + 16);
        }

    }
}
