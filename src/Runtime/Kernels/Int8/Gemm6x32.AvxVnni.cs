// Hand-unrolled (one accumulator set per pixel row) so that RyuJIT keeps every accumulator in a register; a row or
// block the instantiation does not compute is removed by the JIT (R.Count and N.Count are constants).
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MobileOne.Runtime;

/// <summary>
/// The AVX-VNNI tile of <see cref="PointwiseConvInt8"/>: up to 6 pixels x 32 output channels, 24 ymm int32 accumulators.
/// Per 4-channel step it loads the 2 weight panels' 4 ymm (16 channels x 4 bytes = 64 bytes per block),
/// broadcasts each pixel's 4 input bytes (one int) and adds with <c>vpdpbusd</c> (u8 x s8 quadruples into int32, exact:
/// no intermediate saturation, so this path does not need the pair rule).
/// </summary>
/// <remarks>
/// Chosen by measurement (Intel Xeon, Sapphire/Emerald Rapids; MobileOne-S1's pointwise shapes; median INT8/FP32 ratio
/// of back-to-back calls): 6x32 was the fastest, 4x32 and 5x32 0-6% slower, 8x16 1-5% slower, a k loop unrolled twice
/// no faster. RyuJIT (.NET 10) gives <c>vpdpbusd</c> a destination in ymm0-15 only, so 8 of the 24 accumulators go
/// through moves (and two spills) every step; the tile still wins, the loop being bound by the two <c>vpdpbusd</c> a
/// cycle. With 16 registers (AVX-512 disabled, as on AVX-VNNI CPUs without AVX-512: measured with
/// <c>DOTNET_EnableAVX512=0</c>) it spills more and runs about 20% slower, still 1.7x the AVX2 path.
/// </remarks>
[SuppressMessage("Usage", "CA2252:Opt in to preview features", Justification = "AvxVnni is marked preview only in the net8.0 reference assemblies; the instructions and the API are final (not preview from .NET 9 on).")]
internal unsafe struct Gemm6x32AvxVnni : IInt8GemmTile
{
    /// <summary>Gets the pixel rows of a full tile.</summary>
    public static int Pixels => 6;

    /// <summary>Gets the 16-channel output blocks of a full tile.</summary>
    public static int Blocks => 2;

    /// <inheritdoc cref="IInt8GemmTile.Run{TOut}"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<TOut>(int rows, int blocks, byte* a, nint cinP, int steps, sbyte* w, nint panel, int* bias, float* scale, byte* o, nint outStride)
        where TOut : struct, IInt8Output
    {
        if (blocks == 2)
        {
            Rows<Blocks2, TOut>(rows, a, cinP, steps, w, panel, bias, scale, o, outStride);
        }
        else
        {
            Rows<Blocks1, TOut>(rows, a, cinP, steps, w, panel, bias, scale, o, outStride);
        }
    }

    /// <summary>Dispatches the row count to its compile-time instantiation; a full tile first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows<N, TOut>(int rows, byte* a, nint cinP, int steps, sbyte* w, nint panel, int* bias, float* scale, byte* o, nint outStride)
        where N : struct, IBlockCount
        where TOut : struct, IInt8Output
    {
        if (rows == 6)
        {
            Tile<Rows6, N, TOut>(a, cinP, steps, w, panel, bias, scale, o, outStride);
            return;
        }

        Tail<N, TOut>(rows, a, cinP, steps, w, panel, bias, scale, o, outStride);
    }

    /// <summary>The last 1-5 rows of a chunk.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Tail<N, TOut>(int rows, byte* a, nint cinP, int steps, sbyte* w, nint panel, int* bias, float* scale, byte* o, nint outStride)
        where N : struct, IBlockCount
        where TOut : struct, IInt8Output
    {
        switch (rows)
        {
            case 1: Tile<Rows1, N, TOut>(a, cinP, steps, w, panel, bias, scale, o, outStride); break;
            case 2: Tile<Rows2, N, TOut>(a, cinP, steps, w, panel, bias, scale, o, outStride); break;
            case 3: Tile<Rows3, N, TOut>(a, cinP, steps, w, panel, bias, scale, o, outStride); break;
            case 4: Tile<Rows4, N, TOut>(a, cinP, steps, w, panel, bias, scale, o, outStride); break;
            default: Tile<Rows5, N, TOut>(a, cinP, steps, w, panel, bias, scale, o, outStride); break;
        }
    }

    /// <summary>Computes <c>R.Count</c> pixels x <c>N.Count</c> blocks of 16 output channels.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Tile<R, N, TOut>(byte* a, nint cinP, int steps, sbyte* w, nint panel, int* bias, float* scale, byte* o, nint outStride)
        where R : struct, IRowCount
        where N : struct, IBlockCount
        where TOut : struct, IInt8Output
    {
        Vector256<int> b0 = Vector256.Load(bias);
        Vector256<int> b1 = Vector256.Load(bias + 8);
        Vector256<int> b2 = N.Count > 1 ? Vector256.Load(bias + 16) : default;
        Vector256<int> b3 = N.Count > 1 ? Vector256.Load(bias + 24) : default;
        Vector256<int> c00 = b0; Vector256<int> c01 = b1; Vector256<int> c02 = b2; Vector256<int> c03 = b3;
        Vector256<int> c10 = b0; Vector256<int> c11 = b1; Vector256<int> c12 = b2; Vector256<int> c13 = b3;
        Vector256<int> c20 = b0; Vector256<int> c21 = b1; Vector256<int> c22 = b2; Vector256<int> c23 = b3;
        Vector256<int> c30 = b0; Vector256<int> c31 = b1; Vector256<int> c32 = b2; Vector256<int> c33 = b3;
        Vector256<int> c40 = b0; Vector256<int> c41 = b1; Vector256<int> c42 = b2; Vector256<int> c43 = b3;
        Vector256<int> c50 = b0; Vector256<int> c51 = b1; Vector256<int> c52 = b2; Vector256<int> c53 = b3;
        byte* a1 = a + (1 * cinP);
        byte* a2 = a + (2 * cinP);
        byte* a3 = a + (3 * cinP);
        byte* a4 = a + (4 * cinP);
        byte* a5 = a + (5 * cinP);
        sbyte* w1 = w + (1 * panel);
        nint end = (nint)steps * 4;
        nint kw = 0;
        for (nint k = 0; k < end; k += 4)
        {
            Vector256<sbyte> v0 = Vector256.Load(w + kw);
            Vector256<sbyte> v1 = Vector256.Load(w + kw + 32);
            Vector256<sbyte> v2 = N.Count > 1 ? Vector256.Load(w1 + kw) : default;
            Vector256<sbyte> v3 = N.Count > 1 ? Vector256.Load(w1 + kw + 32) : default;
            Vector256<byte> x0 = Vector256.Create(*(int*)(a + k)).AsByte();
            c00 = AvxVnni.MultiplyWideningAndAdd(c00, x0, v0);
            c01 = AvxVnni.MultiplyWideningAndAdd(c01, x0, v1);
            if (N.Count > 1)
            {
                c02 = AvxVnni.MultiplyWideningAndAdd(c02, x0, v2);
                c03 = AvxVnni.MultiplyWideningAndAdd(c03, x0, v3);
            }

            if (R.Count > 1)
            {
                Vector256<byte> x1 = Vector256.Create(*(int*)(a1 + k)).AsByte();
                c10 = AvxVnni.MultiplyWideningAndAdd(c10, x1, v0);
                c11 = AvxVnni.MultiplyWideningAndAdd(c11, x1, v1);
                if (N.Count > 1)
                {
                    c12 = AvxVnni.MultiplyWideningAndAdd(c12, x1, v2);
                    c13 = AvxVnni.MultiplyWideningAndAdd(c13, x1, v3);
                }
            }

            if (R.Count > 2)
            {
                Vector256<byte> x2 = Vector256.Create(*(int*)(a2 + k)).AsByte();
                c20 = AvxVnni.MultiplyWideningAndAdd(c20, x2, v0);
                c21 = AvxVnni.MultiplyWideningAndAdd(c21, x2, v1);
                if (N.Count > 1)
                {
                    c22 = AvxVnni.MultiplyWideningAndAdd(c22, x2, v2);
                    c23 = AvxVnni.MultiplyWideningAndAdd(c23, x2, v3);
                }
            }

            if (R.Count > 3)
            {
                Vector256<byte> x3 = Vector256.Create(*(int*)(a3 + k)).AsByte();
                c30 = AvxVnni.MultiplyWideningAndAdd(c30, x3, v0);
                c31 = AvxVnni.MultiplyWideningAndAdd(c31, x3, v1);
                if (N.Count > 1)
                {
                    c32 = AvxVnni.MultiplyWideningAndAdd(c32, x3, v2);
                    c33 = AvxVnni.MultiplyWideningAndAdd(c33, x3, v3);
                }
            }

            if (R.Count > 4)
            {
                Vector256<byte> x4 = Vector256.Create(*(int*)(a4 + k)).AsByte();
                c40 = AvxVnni.MultiplyWideningAndAdd(c40, x4, v0);
                c41 = AvxVnni.MultiplyWideningAndAdd(c41, x4, v1);
                if (N.Count > 1)
                {
                    c42 = AvxVnni.MultiplyWideningAndAdd(c42, x4, v2);
                    c43 = AvxVnni.MultiplyWideningAndAdd(c43, x4, v3);
                }
            }

            if (R.Count > 5)
            {
                Vector256<byte> x5 = Vector256.Create(*(int*)(a5 + k)).AsByte();
                c50 = AvxVnni.MultiplyWideningAndAdd(c50, x5, v0);
                c51 = AvxVnni.MultiplyWideningAndAdd(c51, x5, v1);
                if (N.Count > 1)
                {
                    c52 = AvxVnni.MultiplyWideningAndAdd(c52, x5, v2);
                    c53 = AvxVnni.MultiplyWideningAndAdd(c53, x5, v3);
                }
            }

            kw += 64;
        }

        if (N.Count > 1)
        {
            Int8Epilogue.Store32<TOut>(c00, c01, c02, c03, scale, o);
        }
        else
        {
            Int8Epilogue.Store16<TOut>(c00, c01, scale, o);
        }

        if (R.Count > 1)
        {
            o += outStride;
            if (N.Count > 1)
            {
                Int8Epilogue.Store32<TOut>(c10, c11, c12, c13, scale, o);
            }
            else
            {
                Int8Epilogue.Store16<TOut>(c10, c11, scale, o);
            }
        }

        if (R.Count > 2)
        {
            o += outStride;
            if (N.Count > 1)
            {
                Int8Epilogue.Store32<TOut>(c20, c21, c22, c23, scale, o);
            }
            else
            {
                Int8Epilogue.Store16<TOut>(c20, c21, scale, o);
            }
        }

        if (R.Count > 3)
        {
            o += outStride;
            if (N.Count > 1)
            {
                Int8Epilogue.Store32<TOut>(c30, c31, c32, c33, scale, o);
            }
            else
            {
                Int8Epilogue.Store16<TOut>(c30, c31, scale, o);
            }
        }

        if (R.Count > 4)
        {
            o += outStride;
            if (N.Count > 1)
            {
                Int8Epilogue.Store32<TOut>(c40, c41, c42, c43, scale, o);
            }
            else
            {
                Int8Epilogue.Store16<TOut>(c40, c41, scale, o);
            }
        }

        if (R.Count > 5)
        {
            o += outStride;
            if (N.Count > 1)
            {
                Int8Epilogue.Store32<TOut>(c50, c51, c52, c53, scale, o);
            }
            else
            {
                Int8Epilogue.Store16<TOut>(c50, c51, scale, o);
            }
        }
    }
}
