// Hand-unrolled (one accumulator set per pixel row) so that RyuJIT keeps every accumulator in a register; a row or
// block the instantiation does not compute is removed by the JIT (R.Count and N.Count are constants).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MobileOne.Runtime;

/// <summary>
/// The AVX-512BW tile of <see cref="PointwiseConvInt8"/>: up to 8 pixels x 32 output channels, 16 zmm int32 accumulators.
/// Per 4-channel step it loads one zmm of weights per block (16 channels x 4 bytes), broadcasts each pixel's 4 input
/// bytes and adds <c>vpmaddwd(vpmaddubsw(x, w), ones)</c> (u8 x s8 pairs into saturating int16, then int16 pairs into
/// int32). Exact only because packed weights satisfy the pair rule (<see cref="Int8Packing.FindPairOverflow"/>,
/// docs/quantization.md "Pairs": 255 x 128 = 32,640 fits int16); a weight that breaks it saturates here.
/// </summary>
/// <remarks>
/// Three instructions per 64 multiply-accumulates (AVX-VNNI needs one per 32): on an Intel Xeon with both, about 0.7x the
/// AVX-VNNI tile, 1.3-1.5x the FP32 GEMM. 6x32 and 4x64 tiles measured the same within noise.
/// </remarks>
internal unsafe struct Gemm8x32Avx512BW : IInt8GemmTile
{
    /// <summary>Gets the pixel rows of a full tile.</summary>
    public static int Pixels => 8;

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
        if (rows == 8)
        {
            Tile<Rows8, N, TOut>(a, cinP, steps, w, panel, bias, scale, o, outStride);
            return;
        }

        Tail<N, TOut>(rows, a, cinP, steps, w, panel, bias, scale, o, outStride);
    }

    /// <summary>The last 1-7 rows of a chunk.</summary>
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
            case 5: Tile<Rows5, N, TOut>(a, cinP, steps, w, panel, bias, scale, o, outStride); break;
            case 6: Tile<Rows6, N, TOut>(a, cinP, steps, w, panel, bias, scale, o, outStride); break;
            default: Tile<Rows7, N, TOut>(a, cinP, steps, w, panel, bias, scale, o, outStride); break;
        }
    }

    /// <summary>Computes <c>R.Count</c> pixels x <c>N.Count</c> blocks of 16 output channels.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Tile<R, N, TOut>(byte* a, nint cinP, int steps, sbyte* w, nint panel, int* bias, float* scale, byte* o, nint outStride)
        where R : struct, IRowCount
        where N : struct, IBlockCount
        where TOut : struct, IInt8Output
    {
        Vector512<int> b0 = Vector512.Load(bias);
        Vector512<int> b1 = N.Count > 1 ? Vector512.Load(bias + 16) : default;
        Vector512<int> c00 = b0; Vector512<int> c01 = b1;
        Vector512<int> c10 = b0; Vector512<int> c11 = b1;
        Vector512<int> c20 = b0; Vector512<int> c21 = b1;
        Vector512<int> c30 = b0; Vector512<int> c31 = b1;
        Vector512<int> c40 = b0; Vector512<int> c41 = b1;
        Vector512<int> c50 = b0; Vector512<int> c51 = b1;
        Vector512<int> c60 = b0; Vector512<int> c61 = b1;
        Vector512<int> c70 = b0; Vector512<int> c71 = b1;
        Vector512<short> ones = Vector512.Create((short)1);
        byte* a1 = a + (1 * cinP);
        byte* a2 = a + (2 * cinP);
        byte* a3 = a + (3 * cinP);
        byte* a4 = a + (4 * cinP);
        byte* a5 = a + (5 * cinP);
        byte* a6 = a + (6 * cinP);
        byte* a7 = a + (7 * cinP);
        sbyte* w1 = w + (1 * panel);
        nint end = (nint)steps * 4;
        nint kw = 0;
        for (nint k = 0; k < end; k += 4)
        {
            Vector512<sbyte> v0 = Vector512.Load(w + kw);
            Vector512<sbyte> v1 = N.Count > 1 ? Vector512.Load(w1 + kw) : default;
            Vector512<byte> x0 = Vector512.Create(*(int*)(a + k)).AsByte();
            c00 = Avx512F.Add(c00, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x0, v0), ones));
            if (N.Count > 1)
            {
                c01 = Avx512F.Add(c01, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x0, v1), ones));
            }

            if (R.Count > 1)
            {
                Vector512<byte> x1 = Vector512.Create(*(int*)(a1 + k)).AsByte();
                c10 = Avx512F.Add(c10, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x1, v0), ones));
                if (N.Count > 1)
                {
                    c11 = Avx512F.Add(c11, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x1, v1), ones));
                }
            }

            if (R.Count > 2)
            {
                Vector512<byte> x2 = Vector512.Create(*(int*)(a2 + k)).AsByte();
                c20 = Avx512F.Add(c20, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x2, v0), ones));
                if (N.Count > 1)
                {
                    c21 = Avx512F.Add(c21, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x2, v1), ones));
                }
            }

            if (R.Count > 3)
            {
                Vector512<byte> x3 = Vector512.Create(*(int*)(a3 + k)).AsByte();
                c30 = Avx512F.Add(c30, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x3, v0), ones));
                if (N.Count > 1)
                {
                    c31 = Avx512F.Add(c31, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x3, v1), ones));
                }
            }

            if (R.Count > 4)
            {
                Vector512<byte> x4 = Vector512.Create(*(int*)(a4 + k)).AsByte();
                c40 = Avx512F.Add(c40, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x4, v0), ones));
                if (N.Count > 1)
                {
                    c41 = Avx512F.Add(c41, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x4, v1), ones));
                }
            }

            if (R.Count > 5)
            {
                Vector512<byte> x5 = Vector512.Create(*(int*)(a5 + k)).AsByte();
                c50 = Avx512F.Add(c50, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x5, v0), ones));
                if (N.Count > 1)
                {
                    c51 = Avx512F.Add(c51, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x5, v1), ones));
                }
            }

            if (R.Count > 6)
            {
                Vector512<byte> x6 = Vector512.Create(*(int*)(a6 + k)).AsByte();
                c60 = Avx512F.Add(c60, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x6, v0), ones));
                if (N.Count > 1)
                {
                    c61 = Avx512F.Add(c61, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x6, v1), ones));
                }
            }

            if (R.Count > 7)
            {
                Vector512<byte> x7 = Vector512.Create(*(int*)(a7 + k)).AsByte();
                c70 = Avx512F.Add(c70, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x7, v0), ones));
                if (N.Count > 1)
                {
                    c71 = Avx512F.Add(c71, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(x7, v1), ones));
                }
            }

            kw += 64;
        }

        Int8Epilogue.Store16<TOut>(c00, scale, o);
        if (N.Count > 1)
        {
            Int8Epilogue.Store16<TOut>(c01, scale + 16, o + (16 * TOut.ElementSize));
        }

        if (R.Count > 1)
        {
            o += outStride;
            Int8Epilogue.Store16<TOut>(c10, scale, o);
            if (N.Count > 1)
            {
                Int8Epilogue.Store16<TOut>(c11, scale + 16, o + (16 * TOut.ElementSize));
            }
        }

        if (R.Count > 2)
        {
            o += outStride;
            Int8Epilogue.Store16<TOut>(c20, scale, o);
            if (N.Count > 1)
            {
                Int8Epilogue.Store16<TOut>(c21, scale + 16, o + (16 * TOut.ElementSize));
            }
        }

        if (R.Count > 3)
        {
            o += outStride;
            Int8Epilogue.Store16<TOut>(c30, scale, o);
            if (N.Count > 1)
            {
                Int8Epilogue.Store16<TOut>(c31, scale + 16, o + (16 * TOut.ElementSize));
            }
        }

        if (R.Count > 4)
        {
            o += outStride;
            Int8Epilogue.Store16<TOut>(c40, scale, o);
            if (N.Count > 1)
            {
                Int8Epilogue.Store16<TOut>(c41, scale + 16, o + (16 * TOut.ElementSize));
            }
        }

        if (R.Count > 5)
        {
            o += outStride;
            Int8Epilogue.Store16<TOut>(c50, scale, o);
            if (N.Count > 1)
            {
                Int8Epilogue.Store16<TOut>(c51, scale + 16, o + (16 * TOut.ElementSize));
            }
        }

        if (R.Count > 6)
        {
            o += outStride;
            Int8Epilogue.Store16<TOut>(c60, scale, o);
            if (N.Count > 1)
            {
                Int8Epilogue.Store16<TOut>(c61, scale + 16, o + (16 * TOut.ElementSize));
            }
        }

        if (R.Count > 7)
        {
            o += outStride;
            Int8Epilogue.Store16<TOut>(c70, scale, o);
            if (N.Count > 1)
            {
                Int8Epilogue.Store16<TOut>(c71, scale + 16, o + (16 * TOut.ElementSize));
            }
        }
    }
}
