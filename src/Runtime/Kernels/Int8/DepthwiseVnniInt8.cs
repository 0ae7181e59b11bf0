// Kernels/Int8: the AVX-VNNI path of the INT8 depthwise 3x3 (called from DepthwiseConv3x3Int8.cs). Hand-unrolled; the
// weights that do not fit in registers are memory operands of vpdpbusd.
using System;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MobileOne.Runtime;

/// <summary>
/// The AVX-VNNI path of <see cref="DepthwiseConv3x3Int8"/> (levels <see cref="SimdLevel.Vector512"/> and
/// <see cref="SimdLevel.Vector256"/> on CPUs with AVX-VNNI): the exact integer sums in int32 with <c>vpdpbusd</c>
/// instead of float FMAs on converted bytes. For each band of input rows, the four rows <c>iy .. iy+3</c> are
/// interleaved once per column into "row quads" (per channel the four bytes of the column, zero outside the input, so
/// the padding needs no separate border path); a quad times the packed weights <c>(w[0][kx], w[1][kx], w[2][kx], 0)</c>
/// adds the three taps of column kx of the output row whose window starts at row iy, and times
/// <c>(0, w[0][kx], w[1][kx], w[2][kx])</c> those of the next output row (stride 1), so each quad serves up to six
/// outputs. At stride 2 the quads of rows <c>2oy-1 .. 2oy+2</c> serve output row oy and, with <c>(0, 0, w0, w1)</c>
/// and the next quads' first row times <c>(w2, 0, 0, 0)</c>, row oy+1; the next quads are carried to the next pair. The sums are the same integers as the float path's (docs/quantization.md), <c>acc = sum + bias</c> in int32,
/// and the epilogue is the pointwise GEMM's (<c>Int8Epilogue.Store16</c> on two <see cref="Vector256{T}"/>), so the bytes are the same.
/// </summary>
[SuppressMessage("Usage", "CA2252:Opt in to preview features", Justification = "AvxVnni is marked preview only in the net8.0 reference assemblies; the instructions and the API are final (not preview from .NET 9 on).")]
internal static unsafe class DepthwiseVnniInt8
{
    [ThreadStatic]
    private static byte[]? t_rows;

    [ThreadStatic]
    private static byte[]? t_weights;

    /// <summary>
    /// Packed weight bytes per 16-channel block: 3 kernel columns x 4 alignments of the kernel column in a quad x 16
    /// channels x 4 bytes: <c>(w0, w1, w2, 0)</c>, <c>(0, w0, w1, w2)</c>, <c>(0, 0, w0, w1)</c>, <c>(w2, 0, 0, 0)</c>.
    /// </summary>
    internal const int WeightBytesPerBlock = 3 * 4 * 64;

    /// <summary>Bytes per kernel column of a block's packed weights.</summary>
    private const int KxBytes = 4 * 64;

    /// <summary>Whether <paramref name="level"/> takes this path on this CPU.</summary>
    internal static bool Supported(SimdLevel level) =>
        (level == SimdLevel.Vector512 || level == SimdLevel.Vector256) && AvxVnni.IsSupported && Avx2.IsSupported;

    /// <summary>
    /// Packs the <c>[9][CP]</c> integer-valued float weights into <c>[CP/16][kx][alignment][16][4]</c> signed bytes;
    /// false (and the float path is used) if a weight is not an integer in [-128, 127].
    /// </summary>
    /// <param name="weights">Packed float weights <c>[9][CP]</c>.</param>
    /// <param name="cp">Channels padded.</param>
    /// <param name="packed"><c>cp / 16 * WeightBytesPerBlock</c> bytes, 32-byte aligned.</param>
    /// <returns>Whether every weight fits.</returns>
    internal static bool PackWeights(float* weights, int cp, sbyte* packed)
    {
        Vector256<int> bad = Vector256<int>.Zero;
        Vector256<int> mask = Vector256.Create(255);
        for (int c = 0; c < cp; c += 8)
        {
            int* block = (int*)(packed + ((c / 16) * WeightBytesPerBlock) + ((c % 16) * 4));
            for (int kx = 0; kx < 3; kx++)
            {
                float* w = weights + ((kx * (nint)cp) + c);
                Vector256<int> i0 = Check(Vector256.Load(w), ref bad);
                Vector256<int> i1 = Check(Vector256.Load(w + (3 * cp)), ref bad);
                Vector256<int> i2 = Check(Vector256.Load(w + (6 * cp)), ref bad);
                Vector256<int> top = (i0 & mask) | Avx2.ShiftLeftLogical(i1 & mask, 8) | Avx2.ShiftLeftLogical(i2 & mask, 16);
                int* k = block + (kx * (KxBytes / 4));
                top.Store(k);
                Avx2.ShiftLeftLogical(top, 8).Store(k + 16);
                Avx2.ShiftLeftLogical(top, 16).Store(k + 32);
                Avx2.ShiftRightLogical(top, 16).Store(k + 48);
            }
        }

        return bad == Vector256<int>.Zero;
    }

    /// <summary>This thread's buffer for the packed weights of <paramref name="cp"/> channels.</summary>
    internal static sbyte* WeightScratch(int cp) => (sbyte*)Scratch(ref t_weights, (nint)(cp / 16) * WeightBytesPerBlock);

    /// <summary>Returns the weights as int32, and marks <paramref name="bad"/> where one is not an integer in [-128, 127].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Check(Vector256<float> w, ref Vector256<int> bad)
    {
        Vector256<int> i = Avx.ConvertToVector256Int32WithTruncation(w);
        bad |= Vector256.Equals(Avx.ConvertToVector256Single(i), w).AsInt32() ^ Vector256<int>.AllBitsSet;
        bad |= Vector256.GreaterThan(i, Vector256.Create(127)) | Vector256.LessThan(i, Vector256.Create(-128));
        return i;
    }

    /// <summary>
    /// Computes output rows [<paramref name="oyBegin"/>, <paramref name="oyEnd"/>), in pairs at strides 1 and 2: at stride 1
    /// the pair's quads hold input rows <c>oy-1 .. oy+2</c>; at stride 2 the quads of rows <c>2oy-1 .. 2oy+2</c> and of the
    /// next four rows (whose first row ends the window of output row oy+1), the latter carried over to the next pair.
    /// </summary>
    /// <typeparam name="TOut">Requantized bytes or dequantized floats.</typeparam>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Rows<TOut>(
        byte* input, int inHeight, int inWidth, int cp, sbyte* packed, int* bias, float* scale, byte* output,
        int outWidth, int stride, int oyBegin, int oyEnd)
        where TOut : struct, IInt8Output
    {
        int blocks = cp / 16;
        nint rowBytes = (nint)inWidth * cp;
        nint quadBlock = ((nint)inWidth + 2) * 64;
        nint quadBytes = quadBlock * blocks;
        nint outPixel = (nint)cp * TOut.ElementSize;
        nint outRow = outWidth * outPixel;
        byte* scratch = Scratch(ref t_rows, (2 * quadBytes) + rowBytes);
        // The padding columns of the quads (0 and inWidth + 1 of each block) and the zero row, cleared once here.
        byte* quads = scratch;
        byte* next = scratch + quadBytes;
        byte* zeros = scratch + (2 * quadBytes);
        NativeMemory.Clear(zeros, (nuint)rowBytes);
        for (int b = 0; b < 2 * blocks; b++)
        {
            Vector256<byte>.Zero.Store(scratch + (b * quadBlock));
            Vector256<byte>.Zero.Store(scratch + (b * quadBlock) + 32);
            Vector256<byte>.Zero.Store(scratch + ((b + 1) * quadBlock) - 64);
            Vector256<byte>.Zero.Store(scratch + ((b + 1) * quadBlock) - 32);
        }

        int built = int.MinValue;
        int oy = oyBegin;
        while (oy < oyEnd)
        {
            bool pair = stride <= 2 && oy + 1 < oyEnd;
            int iy = (oy * stride) - 1;
            if (built == iy)
            {
                byte* built4 = quads;
                quads = next;
                next = built4;
            }
            else
            {
                BuildQuads(InputRow(input, inHeight, rowBytes, zeros, iy), InputRow(input, inHeight, rowBytes, zeros, iy + 1), InputRow(input, inHeight, rowBytes, zeros, iy + 2), InputRow(input, inHeight, rowBytes, zeros, iy + 3), inWidth, cp, blocks, quads + 64, quadBlock);
            }

            if (pair && stride == 2)
            {
                BuildQuads(InputRow(input, inHeight, rowBytes, zeros, iy + 4), InputRow(input, inHeight, rowBytes, zeros, iy + 5), InputRow(input, inHeight, rowBytes, zeros, iy + 6), InputRow(input, inHeight, rowBytes, zeros, iy + 7), inWidth, cp, blocks, next + 64, quadBlock);
                built = iy + 4;
            }

            byte* o = output + (oy * outRow);
            for (int b = 0; b < blocks; b++)
            {
                byte* q = quads + (b * quadBlock);
                sbyte* w = packed + (b * WeightBytesPerBlock);
                byte* ob = o + (b * 16 * TOut.ElementSize);
                if (!pair)
                {
                    OneRow<TOut>(q, w, bias + (b * 16), scale + (b * 16), ob, outWidth, outPixel, stride);
                }
                else if (stride == 1)
                {
                    TwoRows<TOut>(q, w, bias + (b * 16), scale + (b * 16), ob, outRow, outWidth, outPixel);
                }
                else
                {
                    TwoRowsStride2<TOut>(q, next + (b * quadBlock), w, bias + (b * 16), scale + (b * 16), ob, outRow, outWidth, outPixel);
                }
            }

            oy += pair ? 2 : 1;
        }
    }

    /// <summary>
    /// This thread's scratch of at least <paramref name="bytes"/> bytes, 64-byte aligned: a pinned array kept per thread
    /// (grown when a call needs more) so that a call allocates nothing.
    /// </summary>
    /// <param name="array">The thread's array.</param>
    /// <param name="bytes">Bytes needed.</param>
    /// <returns>The aligned start.</returns>
    internal static byte* Scratch(ref byte[]? array, nint bytes)
    {
        if (array == null || array.Length < bytes + 64)
        {
            array = GC.AllocateUninitializedArray<byte>((int)bytes + 64, pinned: true);
        }

        byte* p = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        return (byte*)(((nint)p + 63) & ~(nint)63);
    }

    /// <summary>Input row <paramref name="y"/>, or the zero row outside the input.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte* InputRow(byte* input, int inHeight, nint rowBytes, byte* zeros, int y) =>
        (uint)y < (uint)inHeight ? input + (y * rowBytes) : zeros;

    /// <summary>
    /// Two stride-2 output rows of one channel block, two columns per step: the first row from quads <paramref name="q"/>
    /// (rows <c>iy .. iy+2</c>), the second from rows <c>iy+2, iy+3</c> of <paramref name="q"/> and row <c>iy+4</c>, the
    /// first of <paramref name="next"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void TwoRowsStride2<TOut>(byte* q, byte* next, sbyte* w, int* bias, float* scale, byte* o, nint outRow, int outWidth, nint outPixel)
        where TOut : struct, IInt8Output
    {
        Vector256<sbyte> t0l = Vector256.Load(w), t0h = Vector256.Load(w + 32);
        Vector256<sbyte> t1l = Vector256.Load(w + KxBytes), t1h = Vector256.Load(w + KxBytes + 32);
        Vector256<sbyte> t2l = Vector256.Load(w + (2 * KxBytes)), t2h = Vector256.Load(w + (2 * KxBytes) + 32);
        Vector256<int> biasL = Vector256.Load(bias), biasH = Vector256.Load(bias + 8);
        sbyte* m = w + 128;
        sbyte* e = w + 192;
        for (int ox = 0; ox < outWidth; ox++)
        {
            Vector256<byte> xl = Vector256.Load(q), xh = Vector256.Load(q + 32);
            Vector256<int> al = AvxVnni.MultiplyWideningAndAdd(biasL, xl, t0l);
            Vector256<int> ah = AvxVnni.MultiplyWideningAndAdd(biasH, xh, t0h);
            Vector256<int> cl = AvxVnni.MultiplyWideningAndAdd(biasL, xl, Vector256.Load(m));
            Vector256<int> ch = AvxVnni.MultiplyWideningAndAdd(biasH, xh, Vector256.Load(m + 32));
            xl = Vector256.Load(q + 64);
            xh = Vector256.Load(q + 96);
            al = AvxVnni.MultiplyWideningAndAdd(al, xl, t1l);
            ah = AvxVnni.MultiplyWideningAndAdd(ah, xh, t1h);
            cl = AvxVnni.MultiplyWideningAndAdd(cl, xl, Vector256.Load(m + KxBytes));
            ch = AvxVnni.MultiplyWideningAndAdd(ch, xh, Vector256.Load(m + KxBytes + 32));
            xl = Vector256.Load(q + 128);
            xh = Vector256.Load(q + 160);
            al = AvxVnni.MultiplyWideningAndAdd(al, xl, t2l);
            ah = AvxVnni.MultiplyWideningAndAdd(ah, xh, t2h);
            cl = AvxVnni.MultiplyWideningAndAdd(cl, xl, Vector256.Load(m + (2 * KxBytes)));
            ch = AvxVnni.MultiplyWideningAndAdd(ch, xh, Vector256.Load(m + (2 * KxBytes) + 32));
            Vector256<int> dl = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Vector256.Load(next), Vector256.Load(e));
            Vector256<int> dh = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Vector256.Load(next + 32), Vector256.Load(e + 32));
            dl = AvxVnni.MultiplyWideningAndAdd(dl, Vector256.Load(next + 64), Vector256.Load(e + KxBytes));
            dh = AvxVnni.MultiplyWideningAndAdd(dh, Vector256.Load(next + 96), Vector256.Load(e + KxBytes + 32));
            dl = AvxVnni.MultiplyWideningAndAdd(dl, Vector256.Load(next + 128), Vector256.Load(e + (2 * KxBytes)));
            dh = AvxVnni.MultiplyWideningAndAdd(dh, Vector256.Load(next + 160), Vector256.Load(e + (2 * KxBytes) + 32));
            Store2<TOut>(al, ah, cl + dl, ch + dh, scale, o, o + outRow);
            q += 128;
            next += 128;
            o += outPixel;
        }
    }

    /// <summary>Interleaves four input rows into quads: <c>quads[b][col + 1][c][r] = row r (col, 16b + c)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BuildQuads(byte* r0, byte* r1, byte* r2, byte* r3, int inWidth, int cp, int blocks, byte* quads, nint quadBlock)
    {
        if (Avx512Vbmi.VL.IsSupported)
        {
            BuildQuadsVbmi(r0, r1, r2, r3, inWidth, cp, blocks, quads, quadBlock);
        }
        else
        {
            BuildQuadsSse2(r0, r1, r2, r3, inWidth, cp, blocks, quads, quadBlock);
        }
    }

    /// <summary>
    /// <see cref="BuildQuads"/> with two two-source byte permutes (<c>vpermt2b</c>, AVX-512 VBMI at 256 bits) per
    /// column and block instead of eight unpacks.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BuildQuadsVbmi(byte* r0, byte* r1, byte* r2, byte* r3, int inWidth, int cp, int blocks, byte* quads, nint quadBlock)
    {
        // Byte 4c + r of the quads is byte 16r + c of [r0 r1 | r2 r3] (channels 0-7, then 8-15).
        Vector256<byte> lowIndex = Vector256.Create(
            (byte)0, 16, 32, 48, 1, 17, 33, 49, 2, 18, 34, 50, 3, 19, 35, 51,
            4, 20, 36, 52, 5, 21, 37, 53, 6, 22, 38, 54, 7, 23, 39, 55);
        Vector256<byte> highIndex = lowIndex + Vector256.Create((byte)8);
        // Block by block, so that the stores run along one block's quads (a column loop inside would store with a
        // stride of a whole block's quads, a power of two for some widths, and thrash the L1 sets).
        for (int b = 0; b < blocks; b++)
        {
            byte* q = quads + (b * quadBlock);
            nint i = b * 16;
            for (int x = 0; x < inWidth; x++)
            {
                Vector256<byte> ab = Vector256.Create(Vector128.Load(r0 + i), Vector128.Load(r1 + i));
                Vector256<byte> cd = Vector256.Create(Vector128.Load(r2 + i), Vector128.Load(r3 + i));
                Avx512Vbmi.VL.PermuteVar32x8x2(ab, lowIndex, cd).Store(q);
                Avx512Vbmi.VL.PermuteVar32x8x2(ab, highIndex, cd).Store(q + 32);
                q += 64;
                i += cp;
            }
        }
    }

    /// <summary><see cref="BuildQuads"/> with SSE2 unpacks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BuildQuadsSse2(byte* r0, byte* r1, byte* r2, byte* r3, int inWidth, int cp, int blocks, byte* quads, nint quadBlock)
    {
        for (int x = 0; x < inWidth; x++)
        {
            byte* q = quads + (x * 64);
            for (int b = 0; b < blocks; b++)
            {
                Vector128<byte> a = Vector128.Load(r0 + (b * 16));
                Vector128<byte> c = Vector128.Load(r2 + (b * 16));
                Vector128<ushort> ab0 = Sse2.UnpackLow(a, Vector128.Load(r1 + (b * 16))).AsUInt16();
                Vector128<ushort> ab1 = Sse2.UnpackHigh(a, Vector128.Load(r1 + (b * 16))).AsUInt16();
                Vector128<ushort> cd0 = Sse2.UnpackLow(c, Vector128.Load(r3 + (b * 16))).AsUInt16();
                Vector128<ushort> cd1 = Sse2.UnpackHigh(c, Vector128.Load(r3 + (b * 16))).AsUInt16();
                Sse2.UnpackLow(ab0, cd0).Store((ushort*)q);
                Sse2.UnpackHigh(ab0, cd0).Store((ushort*)(q + 16));
                Sse2.UnpackLow(ab1, cd1).Store((ushort*)(q + 32));
                Sse2.UnpackHigh(ab1, cd1).Store((ushort*)(q + 48));
                q += quadBlock;
            }

            r0 += cp;
            r1 += cp;
            r2 += cp;
            r3 += cp;
        }
    }

    /// <summary>Two stride-1 output rows of one channel block: two columns x two rows per step, then one column.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void TwoRows<TOut>(byte* q, sbyte* w, int* bias, float* scale, byte* o, nint outRow, int outWidth, nint outPixel)
        where TOut : struct, IInt8Output
    {
        Vector256<sbyte> t0l = Vector256.Load(w), t0h = Vector256.Load(w + 32), b0l = Vector256.Load(w + 64), b0h = Vector256.Load(w + 96);
        Vector256<sbyte> t1l = Vector256.Load(w + KxBytes), t1h = Vector256.Load(w + KxBytes + 32), b1l = Vector256.Load(w + KxBytes + 64), b1h = Vector256.Load(w + KxBytes + 96);
        Vector256<sbyte> t2l = Vector256.Load(w + (2 * KxBytes)), t2h = Vector256.Load(w + (2 * KxBytes) + 32), b2l = Vector256.Load(w + (2 * KxBytes) + 64), b2h = Vector256.Load(w + (2 * KxBytes) + 96);
        Vector256<int> biasL = Vector256.Load(bias), biasH = Vector256.Load(bias + 8);
        int ox = 0;
        for (; ox + 2 <= outWidth; ox += 2)
        {
            Vector256<int> a0l = biasL, a0h = biasH, a1l = biasL, a1h = biasH;
            Vector256<int> c0l = biasL, c0h = biasH, c1l = biasL, c1h = biasH;
            Vector256<byte> xl = Vector256.Load(q), xh = Vector256.Load(q + 32);
            a0l = AvxVnni.MultiplyWideningAndAdd(a0l, xl, t0l);
            a0h = AvxVnni.MultiplyWideningAndAdd(a0h, xh, t0h);
            c0l = AvxVnni.MultiplyWideningAndAdd(c0l, xl, b0l);
            c0h = AvxVnni.MultiplyWideningAndAdd(c0h, xh, b0h);
            xl = Vector256.Load(q + 64);
            xh = Vector256.Load(q + 96);
            a0l = AvxVnni.MultiplyWideningAndAdd(a0l, xl, t1l);
            a0h = AvxVnni.MultiplyWideningAndAdd(a0h, xh, t1h);
            c0l = AvxVnni.MultiplyWideningAndAdd(c0l, xl, b1l);
            c0h = AvxVnni.MultiplyWideningAndAdd(c0h, xh, b1h);
            a1l = AvxVnni.MultiplyWideningAndAdd(a1l, xl, t0l);
            a1h = AvxVnni.MultiplyWideningAndAdd(a1h, xh, t0h);
            c1l = AvxVnni.MultiplyWideningAndAdd(c1l, xl, b0l);
            c1h = AvxVnni.MultiplyWideningAndAdd(c1h, xh, b0h);
            xl = Vector256.Load(q + 128);
            xh = Vector256.Load(q + 160);
            a0l = AvxVnni.MultiplyWideningAndAdd(a0l, xl, t2l);
            a0h = AvxVnni.MultiplyWideningAndAdd(a0h, xh, t2h);
            c0l = AvxVnni.MultiplyWideningAndAdd(c0l, xl, b2l);
            c0h = AvxVnni.MultiplyWideningAndAdd(c0h, xh, b2h);
            a1l = AvxVnni.MultiplyWideningAndAdd(a1l, xl, t1l);
            a1h = AvxVnni.MultiplyWideningAndAdd(a1h, xh, t1h);
            c1l = AvxVnni.MultiplyWideningAndAdd(c1l, xl, b1l);
            c1h = AvxVnni.MultiplyWideningAndAdd(c1h, xh, b1h);
            xl = Vector256.Load(q + 192);
            xh = Vector256.Load(q + 224);
            a1l = AvxVnni.MultiplyWideningAndAdd(a1l, xl, t2l);
            a1h = AvxVnni.MultiplyWideningAndAdd(a1h, xh, t2h);
            c1l = AvxVnni.MultiplyWideningAndAdd(c1l, xl, b2l);
            c1h = AvxVnni.MultiplyWideningAndAdd(c1h, xh, b2h);
            Store2<TOut>(a0l, a0h, a1l, a1h, scale, o, o + outPixel);
            Store2<TOut>(c0l, c0h, c1l, c1h, scale, o + outRow, o + outRow + outPixel);
            q += 128;
            o += 2 * outPixel;
        }

        if (ox < outWidth)
        {
            Vector256<int> a0l = biasL, a0h = biasH, c0l = biasL, c0h = biasH;
            Vector256<byte> xl = Vector256.Load(q), xh = Vector256.Load(q + 32);
            a0l = AvxVnni.MultiplyWideningAndAdd(a0l, xl, t0l);
            a0h = AvxVnni.MultiplyWideningAndAdd(a0h, xh, t0h);
            c0l = AvxVnni.MultiplyWideningAndAdd(c0l, xl, b0l);
            c0h = AvxVnni.MultiplyWideningAndAdd(c0h, xh, b0h);
            xl = Vector256.Load(q + 64);
            xh = Vector256.Load(q + 96);
            a0l = AvxVnni.MultiplyWideningAndAdd(a0l, xl, t1l);
            a0h = AvxVnni.MultiplyWideningAndAdd(a0h, xh, t1h);
            c0l = AvxVnni.MultiplyWideningAndAdd(c0l, xl, b1l);
            c0h = AvxVnni.MultiplyWideningAndAdd(c0h, xh, b1h);
            xl = Vector256.Load(q + 128);
            xh = Vector256.Load(q + 160);
            a0l = AvxVnni.MultiplyWideningAndAdd(a0l, xl, t2l);
            a0h = AvxVnni.MultiplyWideningAndAdd(a0h, xh, t2h);
            c0l = AvxVnni.MultiplyWideningAndAdd(c0l, xl, b2l);
            c0h = AvxVnni.MultiplyWideningAndAdd(c0h, xh, b2h);
            Int8Epilogue.Store16<TOut>(a0l, a0h, scale, o);
            Int8Epilogue.Store16<TOut>(c0l, c0h, scale, o + outRow);
        }
    }

    /// <summary>One output row of one channel block at any stride: four columns per step, then one at a time.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void OneRow<TOut>(byte* q, sbyte* w, int* bias, float* scale, byte* o, int outWidth, nint outPixel, int stride)
        where TOut : struct, IInt8Output
    {
        Vector256<sbyte> t0l = Vector256.Load(w), t0h = Vector256.Load(w + 32);
        Vector256<sbyte> t1l = Vector256.Load(w + KxBytes), t1h = Vector256.Load(w + KxBytes + 32);
        Vector256<sbyte> t2l = Vector256.Load(w + (2 * KxBytes)), t2h = Vector256.Load(w + (2 * KxBytes) + 32);
        Vector256<int> biasL = Vector256.Load(bias), biasH = Vector256.Load(bias + 8);
        nint step = (nint)stride * 64;
        int ox = 0;
        for (; ox + 4 <= outWidth; ox += 4)
        {
            byte* q1 = q + step, q2 = q + (2 * step), q3 = q + (3 * step);
            Vector256<int> a0l = Tap(Tap(Tap(biasL, q, t0l), q + 64, t1l), q + 128, t2l);
            Vector256<int> a0h = Tap(Tap(Tap(biasH, q + 32, t0h), q + 96, t1h), q + 160, t2h);
            Vector256<int> a1l = Tap(Tap(Tap(biasL, q1, t0l), q1 + 64, t1l), q1 + 128, t2l);
            Vector256<int> a1h = Tap(Tap(Tap(biasH, q1 + 32, t0h), q1 + 96, t1h), q1 + 160, t2h);
            Vector256<int> a2l = Tap(Tap(Tap(biasL, q2, t0l), q2 + 64, t1l), q2 + 128, t2l);
            Vector256<int> a2h = Tap(Tap(Tap(biasH, q2 + 32, t0h), q2 + 96, t1h), q2 + 160, t2h);
            Vector256<int> a3l = Tap(Tap(Tap(biasL, q3, t0l), q3 + 64, t1l), q3 + 128, t2l);
            Vector256<int> a3h = Tap(Tap(Tap(biasH, q3 + 32, t0h), q3 + 96, t1h), q3 + 160, t2h);
            Int8Epilogue.Store16<TOut>(a0l, a0h, scale, o);
            Int8Epilogue.Store16<TOut>(a1l, a1h, scale, o + outPixel);
            Int8Epilogue.Store16<TOut>(a2l, a2h, scale, o + (2 * outPixel));
            Int8Epilogue.Store16<TOut>(a3l, a3h, scale, o + (3 * outPixel));
            q += 4 * step;
            o += 4 * outPixel;
        }

        for (; ox < outWidth; ox++)
        {
            Vector256<int> a0l = Tap(Tap(Tap(biasL, q, t0l), q + 64, t1l), q + 128, t2l);
            Vector256<int> a0h = Tap(Tap(Tap(biasH, q + 32, t0h), q + 96, t1h), q + 160, t2h);
            Int8Epilogue.Store16<TOut>(a0l, a0h, scale, o);
            q += step;
            o += outPixel;
        }
    }

    /// <summary>
    /// Writes two pixels of 16 channels (as <see cref="Int8Epilogue"/>'s <c>Store16</c>, lane for lane), the bytes of both
    /// packed and put in order together.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store2<TOut>(Vector256<int> a0, Vector256<int> a1, Vector256<int> b0, Vector256<int> b1, float* scale, byte* oa, byte* ob)
        where TOut : struct, IInt8Output
    {
        if (TOut.Floats)
        {
            Int8Epilogue.Store16<TOut>(a0, a1, scale, oa);
            Int8Epilogue.Store16<TOut>(b0, b1, scale, ob);
            return;
        }

        Vector256<float> m0 = Vector256.Load(scale), m1 = Vector256.Load(scale + 8);
        Vector256<short> wa = Avx2.PackSignedSaturate(
            Int8Epilogue.RoundToBytes(Avx.ConvertToVector256Single(a0) * m0), Int8Epilogue.RoundToBytes(Avx.ConvertToVector256Single(a1) * m1));
        Vector256<short> wb = Avx2.PackSignedSaturate(
            Int8Epilogue.RoundToBytes(Avx.ConvertToVector256Single(b0) * m0), Int8Epilogue.RoundToBytes(Avx.ConvertToVector256Single(b1) * m1));
        Vector256<int> bytes = Avx2.PermuteVar8x32(Avx2.PackUnsignedSaturate(wa, wb).AsInt32(), Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7));
        bytes.GetLower().Store((int*)oa);
        bytes.GetUpper().Store((int*)ob);
    }

    /// <summary>Adds one quad of 8 channels times its packed weights.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Tap(Vector256<int> acc, byte* quad, Vector256<sbyte> weights) =>
        AvxVnni.MultiplyWideningAndAdd(acc, Vector256.Load(quad), weights);
}
