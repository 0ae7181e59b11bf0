// Hand-unrolled (one accumulator set per pixel row) so that RyuJIT keeps every accumulator in a register; a row or
// block the instantiation does not compute is removed by the JIT (R.Count and N.Count are constants).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MobileOne.Runtime;

/// <summary>
/// The AVX2 tile of <see cref="PointwiseConvInt8"/>: up to 4 pixels x 16 output channels, 8 ymm int32 accumulators
/// (it fits the 16 ymm registers of an AVX2-only CPU). Per 4-channel step and pixel: <c>vpmaddubsw</c> (u8 x s8 pairs into
/// int16, saturating), <c>vpmaddwd</c> with ones (int16 pairs into int32), <c>vpaddd</c>. Exact only because packed
/// weights satisfy the pair rule (<see cref="Int8Packing.FindPairOverflow"/>, docs/quantization.md "Pairs": a pair's
/// same-sign weights sum to at most 128 in magnitude, and 255 x 128 = 32,640 fits int16); a weight that breaks it
/// saturates here and gives a wrong sum.
/// </summary>
/// <remarks>A 2x32 tile (also 16 registers) measured the same; both run at about the FP32 GEMM's multiply-accumulate rate.</remarks>
internal unsafe struct Gemm4x16Avx2 : IInt8GemmTile
{
    /// <summary>Gets the pixel rows of a full tile.</summary>
    public static int Pixels => 4;

    /// <summary>Gets the 16-channel output blocks of a full tile.</summary>
    public static int Blocks => 1;

    /// <inheritdoc cref="IInt8GemmTile.Run{TOut}"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<TOut>(int rows, int blocks, byte* a, nint cinP, int steps, sbyte* w, nint panel, int* bias, float* scale, byte* o, nint outStride)
        where TOut : struct, IInt8Output
    {
        Rows<Blocks1, TOut>(rows, a, cinP, steps, w, panel, bias, scale, o, outStride);
    }

    /// <summary>Dispatches the row count to its compile-time instantiation; a full tile first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rows<N, TOut>(int rows, byte* a, nint cinP, int steps, sbyte* w, nint panel, int* bias, float* scale, byte* o, nint outStride)
        where N : struct, IBlockCount
        where TOut : struct, IInt8Output
    {
        if (rows == 4)
        {
            Tile<Rows4, N, TOut>(a, cinP, steps, w, panel, bias, scale, o, outStride);
            return;
        }

        Tail<N, TOut>(rows, a, cinP, steps, w, panel, bias, scale, o, outStride);
    }

    /// <summary>The last 1-3 rows of a chunk.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Tail<N, TOut>(int rows, byte* a, nint cinP, int steps, sbyte* w, nint panel, int* bias, float* scale, byte* o, nint outStride)
        where N : struct, IBlockCount
        where TOut : struct, IInt8Output
    {
        switch (rows)
        {
            case 1: Tile<Rows1, N, TOut>(a, cinP, steps, w, panel, bias, scale, o, outStride); break;
            case 2: Tile<Rows2, N, TOut>(a, cinP, steps, w, panel, bias, scale, o, outStride); break;
            default: Tile<Rows3, N, TOut>(a, cinP, steps, w, panel, bias, scale, o, outStride); break;
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
        Vector256<int> c00 = b0; Vector256<int> c01 = b1;
        Vector256<int> c10 = b0; Vector256<int> c11 = b1;
        Vector256<int> c20 = b0; Vector256<int> c21 = b1;
        Vector256<int> c30 = b0; Vector256<int> c31 = b1;
        Vector256<short> ones = Vector256.Create((short)1);
        byte* a1 = a + (1 * cinP);
        byte* a2 = a + (2 * cinP);
        byte* a3 = a + (3 * cinP);
        nint end = (nint)steps * 4;
        nint kw = 0;
        for (nint k = 0; k < end; k += 4)
        {
            Vector256<sbyte> v0 = Vector256.Load(w + kw);
            Vector256<sbyte> v1 = Vector256.Load(w + kw + 32);
            Vector256<byte> x0 = Vector256.Create(*(int*)(a + k)).AsByte();
            c00 = Avx2.Add(c00, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x0, v0), ones));
            c01 = Avx2.Add(c01, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x0, v1), ones));

            if (R.Count > 1)
            {
                Vector256<byte> x1 = Vector256.Create(*(int*)(a1 + k)).AsByte();
                c10 = Avx2.Add(c10, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x1, v0), ones));
                c11 = Avx2.Add(c11, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x1, v1), ones));
            }

            if (R.Count > 2)
            {
                Vector256<byte> x2 = Vector256.Create(*(int*)(a2 + k)).AsByte();
                c20 = Avx2.Add(c20, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x2, v0), ones));
                c21 = Avx2.Add(c21, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x2, v1), ones));
            }

            if (R.Count > 3)
            {
                Vector256<byte> x3 = Vector256.Create(*(int*)(a3 + k)).AsByte();
                c30 = Avx2.Add(c30, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x3, v0), ones));
                c31 = Avx2.Add(c31, Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x3, v1), ones));
            }

            kw += 64;
        }

        Int8Epilogue.Store16<TOut>(c00, c01, scale, o);

        if (R.Count > 1)
        {
            o += outStride;
            Int8Epilogue.Store16<TOut>(c10, c11, scale, o);
        }

        if (R.Count > 2)
        {
            o += outStride;
            Int8Epilogue.Store16<TOut>(c20, c21, scale, o);
        }

        if (R.Count > 3)
        {
            o += outStride;
            Int8Epilogue.Store16<TOut>(c30, c31, scale, o);
        }
    }
}
