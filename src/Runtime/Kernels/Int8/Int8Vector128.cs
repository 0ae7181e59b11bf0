using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace MobileOne.Runtime;

/// <summary>
/// The INT8 conversions on <see cref="Vector128{T}"/>: SSE4.1/SSE2 where present, else portable
/// <see cref="Vector128"/> code (AdvSimd, or the software fallback). Used by <see cref="Int8Block16Vector128"/> and as
/// the fallback of the wider blocks.
/// </summary>
internal static unsafe class Int8Vector128
{
    /// <summary>2^23: <c>y + 2^23</c> for <c>0 &lt;= y &lt;= 255</c> is <c>2^23 + round_even(y)</c>, whose low bits are the byte.</summary>
    private const float ByteMagic = 8388608f;

    /// <summary>1.5 x 2^23: <c>(v + m) - m</c> is <c>round_even(v)</c> for <c>|v| &lt;= 2^22</c>, and +0 for a zero.</summary>
    private const float SignedMagic = 12582912f;

    /// <summary>Loads 16 unsigned bytes as four vectors of exact floats (channels 0-3, 4-7, 8-11, 12-15).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void LoadBytes(byte* source, out Vector128<float> f0, out Vector128<float> f1, out Vector128<float> f2, out Vector128<float> f3)
    {
        if (Sse41.IsSupported)
        {
            f0 = Sse2.ConvertToVector128Single(Sse41.ConvertToVector128Int32(source));
            f1 = Sse2.ConvertToVector128Single(Sse41.ConvertToVector128Int32(source + 4));
            f2 = Sse2.ConvertToVector128Single(Sse41.ConvertToVector128Int32(source + 8));
            f3 = Sse2.ConvertToVector128Single(Sse41.ConvertToVector128Int32(source + 12));
            return;
        }

        (Vector128<ushort> lo, Vector128<ushort> hi) = Vector128.Widen(Vector128.Load(source));
        (Vector128<uint> u0, Vector128<uint> u1) = Vector128.Widen(lo);
        (Vector128<uint> u2, Vector128<uint> u3) = Vector128.Widen(hi);
        f0 = Vector128.ConvertToSingle(u0.AsInt32());
        f1 = Vector128.ConvertToSingle(u1.AsInt32());
        f2 = Vector128.ConvertToSingle(u2.AsInt32());
        f3 = Vector128.ConvertToSingle(u3.AsInt32());
    }

    /// <summary><c>(byte)round_even(min(max(y, 0), 255))</c> of four vectors (channels 0-3, 4-7, 8-11, 12-15), in channel order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<byte> RoundToBytes(Vector128<float> y0, Vector128<float> y1, Vector128<float> y2, Vector128<float> y3)
    {
        if (Sse2.IsSupported)
        {
            // min(255, y), cvtps2dq, and the saturating packs take every negative value to 0 (Int8Epilogue's remarks).
            Vector128<float> max = Vector128.Create(255f);
            Vector128<int> q0 = Sse2.ConvertToVector128Int32(Sse.Min(max, y0));
            Vector128<int> q1 = Sse2.ConvertToVector128Int32(Sse.Min(max, y1));
            Vector128<int> q2 = Sse2.ConvertToVector128Int32(Sse.Min(max, y2));
            Vector128<int> q3 = Sse2.ConvertToVector128Int32(Sse.Min(max, y3));
            return Sse2.PackUnsignedSaturate(Sse2.PackSignedSaturate(q0, q1), Sse2.PackSignedSaturate(q2, q3));
        }

        Vector128<int> r0 = MagicRound(y0);
        Vector128<int> r1 = MagicRound(y1);
        Vector128<int> r2 = MagicRound(y2);
        Vector128<int> r3 = MagicRound(y3);
        return Vector128.Narrow(Vector128.Narrow(r0, r1).AsUInt16(), Vector128.Narrow(r2, r3).AsUInt16());
    }

    /// <summary><c>(float)(int)round_even(min(max(v, -127), 127))</c>, exact, +0 for zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> RoundToInt8(Vector128<float> v)
    {
        Vector128<float> m = Vector128.Create(SignedMagic);
        return (Min(Max(v, Vector128.Create(-127f)), Vector128.Create(127f)) + m) - m;
    }

    /// <summary><c>(float)((int)exactSum + bias)</c>: truncation is exact on an integer-valued float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> AddBias(Vector128<float> exactSum, int* bias)
    {
        Vector128<int> i = Sse2.IsSupported ? Sse2.ConvertToVector128Int32WithTruncation(exactSum) : Vector128.ConvertToInt32(exactSum);
        return Vector128.ConvertToSingle(i + Vector128.Load(bias));
    }

    /// <summary><c>min(max(y, 0), 255)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> ClampToByteRange(Vector128<float> y) => Min(Max(y, Vector128<float>.Zero), Vector128.Create(255f));

    /// <summary><c>round_even(min(max(y, 0), 255))</c> without a rounding conversion: the low bits of <c>y + 2^23</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> MagicRound(Vector128<float> y) =>
        (ClampToByteRange(y) + Vector128.Create(ByteMagic)).AsInt32() - Vector128.Create(0x4B000000);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Min(Vector128<float> a, Vector128<float> b) =>
        Sse.IsSupported ? Sse.Min(a, b) : AdvSimd.IsSupported ? AdvSimd.Min(a, b) : Vector128.Min(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Max(Vector128<float> a, Vector128<float> b) =>
        Sse.IsSupported ? Sse.Max(a, b) : AdvSimd.IsSupported ? AdvSimd.Max(a, b) : Vector128.Max(a, b);
}
