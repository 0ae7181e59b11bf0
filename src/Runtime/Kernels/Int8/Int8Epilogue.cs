using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MobileOne.Runtime;

/// <summary>
/// The epilogue of the INT8 pointwise tiles: exact int32 accumulators (bias included) to u8 or float, per
/// docs/quantization.md: <c>y = (float)acc * m[o]</c> (one multiply, no FMA), then <c>round_even(min(max(y, 0), 255))</c>
/// for bytes (<c>vcvtps2dq</c> rounds half to even in the default MXCSR mode), or <c>(float)acc * d[o]</c> for floats.
/// </summary>
/// <remarks>
/// At 256 bits the lower clamp is left to the saturating packs, one instruction less per 8 channels with the same bytes:
/// <c>min(255, y)</c> in float, <c>vcvtps2dq</c> (round half to even; any y below int32's range, -inf included, becomes
/// int.MinValue), then <c>vpackssdw</c> and <c>vpackuswb</c> saturate every negative value to 0. For y in [0, 255] this
/// is the contract's value; for y &lt; 0 both give 0; for y &gt; 255 both give 255. <c>min</c> takes 255 as its first
/// operand so that a NaN (never produced from finite multipliers) goes to 0, as the scalar conversion does.
/// The 256-bit epilogue stays 256-bit on AVX-512 hardware too: one 512-bit instruction in the AVX-VNNI tile's
/// epilogue (tried: widening the accumulators to zmm for the conversions) closes port 1's vector unit to the ymm
/// <c>vpdpbusd</c>, and the S1 pointwise layers ran 13-35% slower.
/// </remarks>
internal static unsafe class Int8Epilogue
{
    /// <summary>Writes 16 channels held in two <see cref="Vector256{T}"/> accumulators (channels 0-7, 8-15).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store16<TOut>(Vector256<int> c0, Vector256<int> c1, float* scale, byte* o)
        where TOut : struct, IInt8Output
    {
        if (TOut.Floats)
        {
            float* f = (float*)o;
            Dequantize(c0, scale).Store(f);
            Dequantize(c1, scale + 8).Store(f + 8);
        }
        else
        {
            PackBytes16(Requantize(c0, scale), Requantize(c1, scale + 8)).Store(o);
        }
    }

    /// <summary>Writes 32 channels held in four <see cref="Vector256{T}"/> accumulators (channels 0-7, 8-15, 16-23, 24-31).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store32<TOut>(Vector256<int> c0, Vector256<int> c1, Vector256<int> c2, Vector256<int> c3, float* scale, byte* o)
        where TOut : struct, IInt8Output
    {
        if (TOut.Floats)
        {
            float* f = (float*)o;
            Dequantize(c0, scale).Store(f);
            Dequantize(c1, scale + 8).Store(f + 8);
            Dequantize(c2, scale + 16).Store(f + 16);
            Dequantize(c3, scale + 24).Store(f + 24);
        }
        else
        {
            // dwords after the packs: [c0 0-3, c1 0-3, c2 0-3, c3 0-3, c0 4-7, c1 4-7, c2 4-7, c3 4-7].
            Vector256<short> w01 = Avx2.PackSignedSaturate(Requantize(c0, scale), Requantize(c1, scale + 8));
            Vector256<short> w23 = Avx2.PackSignedSaturate(Requantize(c2, scale + 16), Requantize(c3, scale + 24));
            Vector256<byte> bytes = Avx2.PackUnsignedSaturate(w01, w23);
            Avx2.PermuteVar8x32(bytes.AsInt32(), Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7)).AsByte().Store(o);
        }
    }

    /// <summary>Writes 16 channels held in one <see cref="Vector512{T}"/> accumulator.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store16<TOut>(Vector512<int> c, float* scale, byte* o)
        where TOut : struct, IInt8Output
    {
        if (TOut.Floats)
        {
            (Avx512F.ConvertToVector512Single(c) * Vector512.Load(scale)).Store((float*)o);
        }
        else
        {
            Vector512<float> y = Avx512F.ConvertToVector512Single(c) * Vector512.Load(scale);
            y = Avx512F.Min(Avx512F.Max(y, Vector512<float>.Zero), Vector512.Create(255f));
            Avx512F.ConvertToVector128Byte(Avx512F.ConvertToVector512Int32(y)).Store(o);
        }
    }

    /// <summary>The scalar epilogue: <c>(byte)round_even(min(max((float)acc * m, 0), 255))</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static byte Requantize(int acc, float m) => RoundToByte((float)acc * m);

    /// <summary><c>(byte)round_even(min(max(y, 0), 255))</c>: the clamp is done in float, before the conversion.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static byte RoundToByte(float y) => (byte)MathF.Round(Math.Min(Math.Max(y, 0f), 255f));

    /// <summary>
    /// Narrows 16 int32 lanes (channels 0-7, 8-15) at most 255 to 16 bytes in channel order, negative lanes to 0:
    /// <c>packssdw</c>, <c>packuswb</c> (both saturating; dwords <c>[q0 0-3, q1 0-3, (again), q0 4-7, q1 4-7, (again)]</c>),
    /// <c>vpermd</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<byte> PackBytes16(Vector256<int> q0, Vector256<int> q1)
    {
        Vector256<short> words = Avx2.PackSignedSaturate(q0, q1);
        Vector256<byte> bytes = Avx2.PackUnsignedSaturate(words, words);
        return Avx2.PermuteVar8x32(bytes.AsInt32(), Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7)).GetLower().AsByte();
    }

    /// <summary>
    /// <c>round_even(min(y, 255))</c> as int32 lanes (<c>vcvtps2dq</c>): in [0, 255] after <see cref="PackBytes16"/>
    /// saturates the negative ones to 0 (see the remarks).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> RoundToBytes(Vector256<float> y) =>
        Avx.ConvertToVector256Int32(Avx.Min(Vector256.Create(255f), y));

    /// <summary><c>round_even(min(max((float)acc * m, 0), 255))</c> as int32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Requantize(Vector256<int> acc, float* m) =>
        RoundToBytes(Avx.ConvertToVector256Single(acc) * Vector256.Load(m));

    /// <summary><c>(float)acc * d</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Dequantize(Vector256<int> acc, float* d) =>
        Avx.ConvertToVector256Single(acc) * Vector256.Load(d);
}
