using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MobileOne.Training;

/// <summary>
/// The training-only kernels, vectorised with <see cref="Vector256{T}"/> (FMA when the CPU has it) over rows of
/// channels that are multiples of 8: GEMMs for the pointwise backward pass and batch-norm statistics. The forward
/// convolutions run on the runtime's NHWC-16 kernels.
/// </summary>
public static unsafe class Kernels
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> MulAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : (a * b) + c;

    /// <summary>
    /// <c>C[m x n] (+)= A · B</c> on one thread, with <c>A(i, k) = a[i * aRow + k * aCol]</c> (so either layout of A),
    /// <c>B</c> row-major <c>[k x n]</c> with row stride <paramref name="ldb"/>, <c>C</c> row stride <paramref name="ldc"/>;
    /// <paramref name="n"/> must be a multiple of 8. Register tile: 4 rows x 16 columns.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Gemm(float* a, nint aRow, nint aCol, float* b, nint ldb, float* c, nint ldc, int m, int n, int k, bool accumulate)
    {
        if (n % 8 != 0)
        {
            throw new ArgumentException("n must be a multiple of 8.", nameof(n));
        }

        int i = 0;
        for (; i + 4 <= m; i += 4)
        {
            float* a0 = a + (i * aRow), a1 = a0 + aRow, a2 = a1 + aRow, a3 = a2 + aRow;
            float* c0 = c + (i * ldc), c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
            int j = 0;
            for (; j + 16 <= n; j += 16)
            {
                Vector256<float> s00, s01, s10, s11, s20, s21, s30, s31;
                if (accumulate)
                {
                    s00 = Vector256.Load(c0 + j); s01 = Vector256.Load(c0 + j + 8);
                    s10 = Vector256.Load(c1 + j); s11 = Vector256.Load(c1 + j + 8);
                    s20 = Vector256.Load(c2 + j); s21 = Vector256.Load(c2 + j + 8);
                    s30 = Vector256.Load(c3 + j); s31 = Vector256.Load(c3 + j + 8);
                }
                else
                {
                    s00 = s01 = s10 = s11 = s20 = s21 = s30 = s31 = Vector256<float>.Zero;
                }

                float* bp = b + j;
                for (int kk = 0; kk < k; kk++)
                {
                    Vector256<float> b0 = Vector256.Load(bp), b1 = Vector256.Load(bp + 8);
                    nint o = kk * aCol;
                    Vector256<float> v = Vector256.Create(a0[o]);
                    s00 = MulAdd(v, b0, s00); s01 = MulAdd(v, b1, s01);
                    v = Vector256.Create(a1[o]);
                    s10 = MulAdd(v, b0, s10); s11 = MulAdd(v, b1, s11);
                    v = Vector256.Create(a2[o]);
                    s20 = MulAdd(v, b0, s20); s21 = MulAdd(v, b1, s21);
                    v = Vector256.Create(a3[o]);
                    s30 = MulAdd(v, b0, s30); s31 = MulAdd(v, b1, s31);
                    bp += ldb;
                }

                s00.Store(c0 + j); s01.Store(c0 + j + 8);
                s10.Store(c1 + j); s11.Store(c1 + j + 8);
                s20.Store(c2 + j); s21.Store(c2 + j + 8);
                s30.Store(c3 + j); s31.Store(c3 + j + 8);
            }

            for (; j < n; j += 8)
            {
                GemmRow8(a0, aCol, b + j, ldb, c0 + j, k, accumulate);
                GemmRow8(a1, aCol, b + j, ldb, c1 + j, k, accumulate);
                GemmRow8(a2, aCol, b + j, ldb, c2 + j, k, accumulate);
                GemmRow8(a3, aCol, b + j, ldb, c3 + j, k, accumulate);
            }
        }

        for (; i < m; i++)
        {
            for (int j = 0; j < n; j += 8)
            {
                GemmRow8(a + (i * aRow), aCol, b + j, ldb, c + (i * ldc) + j, k, accumulate);
            }
        }
    }

    private static void GemmRow8(float* a, nint aCol, float* b, nint ldb, float* c, int k, bool accumulate)
    {
        Vector256<float> s = accumulate ? Vector256.Load(c) : Vector256<float>.Zero;
        for (int kk = 0; kk < k; kk++)
        {
            s = MulAdd(Vector256.Create(a[kk * aCol]), Vector256.Load(b + (kk * ldb)), s);
        }

        s.Store(c);
    }

    /// <summary><c>C[m x n] += A[m x k] · B[k x n]</c>, all row-major, split over the rows of A across threads.</summary>
    public static void GemmNN(float* a, float* b, float* c, int m, int n, int k, bool accumulate)
    {
        nint pa = (nint)a, pb = (nint)b, pc = (nint)c;
        Par.For(m, 64, (_, r0, r1) => Gemm((float*)pa + ((nint)r0 * k), k, 1, (float*)pb, n, (float*)pc + ((nint)r0 * n), n, r1 - r0, n, k, accumulate));
    }

    /// <summary>
    /// <c>C[m x n] += Aᵀ · B</c> with <c>A</c> row-major <c>[k x m]</c> and <c>B</c> row-major <c>[k x n]</c> (a weight
    /// gradient: k = pixels), split over k across threads with per-thread partial sums.
    /// </summary>
    public static void GemmTNAccumulate(float* a, float* b, float* c, int m, int n, int k, FloatBuffer scratch)
    {
        int parts = Par.Parts(k, 256);
        long size = (long)m * n;
        scratch.Ensure(size * parts);
        nint pa = (nint)a, pb = (nint)b, ps = (nint)scratch.Ptr;
        Par.For(k, 256, (part, k0, k1) =>
        {
            float* dst = (float*)ps + (part * size);
            bool acc = false;
            for (int kb = k0; kb < k1; kb += 256)
            {
                int kn = Math.Min(256, k1 - kb);
                Gemm((float*)pa + ((nint)kb * m), 1, m, (float*)pb + ((nint)kb * n), n, dst, n, m, n, kn, acc);
                acc = true;
            }
        });
        for (int p = 0; p < parts; p++)
        {
            Add(c, scratch.Ptr + (p * size), size);
        }
    }

    /// <summary><c>dst[i] += src[i]</c>.</summary>
    public static void Add(float* dst, float* src, long n)
    {
        long i = 0;
        for (; i + 8 <= n; i += 8)
        {
            (Vector256.Load(dst + i) + Vector256.Load(src + i)).Store(dst + i);
        }

        for (; i < n; i++)
        {
            dst[i] += src[i];
        }
    }

    /// <summary>Per-channel sums of <c>x</c> and of <c>(x - shift)²</c> over <paramref name="rows"/> rows of <paramref name="channels"/>.</summary>
    public static void ChannelSums(float* x, int rows, int channels, float* shift, double[] sum, double[]? sumSq)
    {
        int parts = Par.Parts(rows, 512);
        var partial = new float[parts * channels * 2];
        nint px = (nint)x, pshift = (nint)shift;
        bool sq = sumSq != null;
        Par.For(rows, 512, (part, r0, r1) =>
        {
            fixed (float* acc = &partial[part * channels * 2])
            {
                float* accSq = acc + channels;
                for (int c = 0; c < channels; c += 8)
                {
                    Vector256<float> s = Vector256<float>.Zero, q = Vector256<float>.Zero;
                    Vector256<float> m = sq ? Vector256.Load((float*)pshift + c) : Vector256<float>.Zero;
                    float* p = (float*)px + ((nint)r0 * channels) + c;
                    for (int r = r0; r < r1; r++, p += channels)
                    {
                        Vector256<float> v = Vector256.Load(p);
                        s += v;
                        if (sq)
                        {
                            Vector256<float> d = v - m;
                            q = MulAdd(d, d, q);
                        }
                    }

                    s.Store(acc + c);
                    q.Store(accSq + c);
                }
            }
        });
        Array.Clear(sum);
        if (sumSq != null)
        {
            Array.Clear(sumSq);
        }

        for (int p = 0; p < parts; p++)
        {
            for (int c = 0; c < channels; c++)
            {
                sum[c] += partial[(p * channels * 2) + c];
                if (sumSq != null)
                {
                    sumSq[c] += partial[(p * channels * 2) + channels + c];
                }
            }
        }
    }

    /// <summary>Per-channel <c>Σ dy</c> and <c>Σ dy · xhat</c> over rows.</summary>
    public static void ChannelDotSums(float* dy, float* xhat, int rows, int channels, double[] sumDy, double[] sumDyX)
    {
        int parts = Par.Parts(rows, 512);
        var partial = new float[parts * channels * 2];
        nint pdy = (nint)dy, px = (nint)xhat;
        Par.For(rows, 512, (part, r0, r1) =>
        {
            fixed (float* acc = &partial[part * channels * 2])
            {
                for (int c = 0; c < channels; c += 8)
                {
                    Vector256<float> s = Vector256<float>.Zero, q = Vector256<float>.Zero;
                    nint off = ((nint)r0 * channels) + c;
                    float* g = (float*)pdy + off, h = (float*)px + off;
                    for (int r = r0; r < r1; r++, g += channels, h += channels)
                    {
                        Vector256<float> v = Vector256.Load(g);
                        s += v;
                        q = MulAdd(v, Vector256.Load(h), q);
                    }

                    s.Store(acc + c);
                    q.Store(acc + channels + c);
                }
            }
        });
        Array.Clear(sumDy);
        Array.Clear(sumDyX);
        for (int p = 0; p < parts; p++)
        {
            for (int c = 0; c < channels; c++)
            {
                sumDy[c] += partial[(p * channels * 2) + c];
                sumDyX[c] += partial[(p * channels * 2) + channels + c];
            }
        }
    }

    /// <summary>
    /// Per channel: <c>out = x * scale[c] + shift[c]</c>, optionally stored into <paramref name="xOut"/>, and
    /// <c>dst (+)= out2 = out * mul[c] + add[c]</c> when <paramref name="dst"/> is given.
    /// </summary>
    public static void AffineRows(float* x, int rows, int channels, float* scale, float* shift, float* xOut, float* mul, float* add, float* dst, bool accumulate)
    {
        nint px = (nint)x, pxo = (nint)xOut, pd = (nint)dst, psc = (nint)scale, psh = (nint)shift, pm = (nint)mul, pa = (nint)add;
        Par.For(rows, 256, (_, r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                nint off = (nint)r * channels;
                float* xi = (float*)px + off;
                for (int c = 0; c < channels; c += 8)
                {
                    Vector256<float> v = MulAdd(Vector256.Load(xi + c), Vector256.Load((float*)psc + c), Vector256.Load((float*)psh + c));
                    if (pxo != 0)
                    {
                        v.Store((float*)pxo + off + c);
                    }

                    if (pd != 0)
                    {
                        float* d = (float*)pd + off + c;
                        Vector256<float> y = MulAdd(v, Vector256.Load((float*)pm + c), Vector256.Load((float*)pa + c));
                        (accumulate ? Vector256.Load(d) + y : y).Store(d);
                    }
                }
            }
        });
    }

    /// <summary>Batch-norm input gradient: <c>dx (+)= k1[c] * dy + k2[c] * xhat + k3[c]</c>.</summary>
    public static void BnBackwardRows(float* dy, float* xhat, int rows, int channels, float* k1, float* k2, float* k3, float* dx, bool accumulate)
    {
        nint pdy = (nint)dy, px = (nint)xhat, pdx = (nint)dx, p1 = (nint)k1, p2 = (nint)k2, p3 = (nint)k3;
        Par.For(rows, 256, (_, r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                nint off = (nint)r * channels;
                for (int c = 0; c < channels; c += 8)
                {
                    Vector256<float> v = MulAdd(Vector256.Load((float*)pdy + off + c), Vector256.Load((float*)p1 + c),
                        MulAdd(Vector256.Load((float*)px + off + c), Vector256.Load((float*)p2 + c), Vector256.Load((float*)p3 + c)));
                    float* d = (float*)pdx + off + c;
                    (accumulate ? Vector256.Load(d) + v : v).Store(d);
                }
            }
        });
    }

    /// <summary><c>y = max(x, 0)</c> over n floats (n a multiple of 8).</summary>
    public static void Relu(float* x, float* y, long n)
    {
        nint px = (nint)x, py = (nint)y;
        Par.For(checked((int)(n / 8)), 2048, (_, i0, i1) =>
        {
            for (long i = (long)i0 * 8; i < (long)i1 * 8; i += 8)
            {
                Vector256.Max(Vector256.Load((float*)px + i), Vector256<float>.Zero).Store((float*)py + i);
            }
        });
    }

    /// <summary><c>dx = y &gt; 0 ? dy : 0</c> over n floats (n a multiple of 8).</summary>
    public static void ReluBackward(float* y, float* dy, float* dx, long n)
    {
        nint py = (nint)y, pdy = (nint)dy, pdx = (nint)dx;
        Par.For(checked((int)(n / 8)), 2048, (_, i0, i1) =>
        {
            for (long i = (long)i0 * 8; i < (long)i1 * 8; i += 8)
            {
                Vector256<float> mask = Vector256.GreaterThan(Vector256.Load((float*)py + i), Vector256<float>.Zero);
                (Vector256.Load((float*)pdy + i) & mask).Store((float*)pdx + i);
            }
        });
    }
}
