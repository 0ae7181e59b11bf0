using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MobileOne.Runtime;

/// <summary>
/// Sixteen floats as one <see cref="Vector512{T}"/>: the <see cref="IInt8Block16{T}"/> of <see cref="SimdLevel.Vector512"/>
/// (AVX-512F; the <see cref="Int8Vector128"/> code where it is missing).
/// </summary>
internal unsafe struct Int8Block16Vector512 : IInt8Block16<Int8Block16Vector512>
{
    /// <summary>1.5 x 2^23: <c>(v + m) - m</c> is <c>round_even(v)</c> for <c>|v| &lt;= 2^22</c>, and +0 for a zero.</summary>
    private const float SignedMagic = 12582912f;

    private Vector512<float> _v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Int8Block16Vector512(Vector512<float> v) => _v = v;

    public static Int8Block16Vector512 Zero
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => default;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector512 Load(float* source) => new(Vector512.Load(source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* destination, Int8Block16Vector512 value) => value._v.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector512 LoadBytes(byte* source)
    {
        if (Avx512F.IsSupported)
        {
            return new(Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(source))));
        }

        Int8Vector128.LoadBytes(source, out Vector128<float> a, out Vector128<float> b, out Vector128<float> c, out Vector128<float> d);
        return new(Vector512.Create(Vector256.Create(a, b), Vector256.Create(c, d)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector512 Broadcast(float value) => new(Vector512.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector512 MultiplyAdd(Int8Block16Vector512 a, Int8Block16Vector512 b, Int8Block16Vector512 c) =>
        Avx512F.IsSupported ? new(Avx512F.FusedMultiplyAdd(a._v, b._v, c._v)) : new((a._v * b._v) + c._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector512 Multiply(Int8Block16Vector512 a, Int8Block16Vector512 b) => new(a._v * b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector512 Add(Int8Block16Vector512 a, Int8Block16Vector512 b) => new(a._v + b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector512 AddBias(Int8Block16Vector512 exactSum, int* bias)
    {
        Vector512<int> i = Avx512F.IsSupported ? Avx512F.ConvertToVector512Int32WithTruncation(exactSum._v) : Vector512.ConvertToInt32(exactSum._v);
        return new(Vector512.ConvertToSingle(i + Vector512.Load(bias)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector512 LoadBias(int* bias) => new(Vector512.ConvertToSingle(Vector512.Load(bias)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreBytes(byte* destination, Int8Block16Vector512 y)
    {
        if (Avx512F.IsSupported)
        {
            Vector512<float> c = Avx512F.Min(Avx512F.Max(y._v, Vector512<float>.Zero), Vector512.Create(255f));
            Avx512F.ConvertToVector128Byte(Avx512F.ConvertToVector512Int32(c)).Store(destination);
            return;
        }

        Int8Vector128.RoundToBytes(y._v.GetLower().GetLower(), y._v.GetLower().GetUpper(), y._v.GetUpper().GetLower(), y._v.GetUpper().GetUpper()).Store(destination);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector512 RoundToInt8(Int8Block16Vector512 v)
    {
        if (Avx512F.IsSupported)
        {
            Vector512<float> m = Vector512.Create(SignedMagic);
            return new((Avx512F.Min(Avx512F.Max(v._v, Vector512.Create(-127f)), Vector512.Create(127f)) + m) - m);
        }

        Vector512<float> x = v._v;
        return new(Vector512.Create(
            Vector256.Create(Int8Vector128.RoundToInt8(x.GetLower().GetLower()), Int8Vector128.RoundToInt8(x.GetLower().GetUpper())),
            Vector256.Create(Int8Vector128.RoundToInt8(x.GetUpper().GetLower()), Int8Vector128.RoundToInt8(x.GetUpper().GetUpper()))));
    }
}
