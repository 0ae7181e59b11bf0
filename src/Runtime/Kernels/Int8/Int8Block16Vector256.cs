using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MobileOne.Runtime;

/// <summary>
/// Sixteen floats as two <see cref="Vector256{T}"/>: the <see cref="IInt8Block16{T}"/> of <see cref="SimdLevel.Vector256"/>
/// (AVX2; the <see cref="Int8Vector128"/> code where AVX2 is missing).
/// </summary>
internal unsafe struct Int8Block16Vector256 : IInt8Block16<Int8Block16Vector256>
{
    /// <summary>1.5 x 2^23: <c>(v + m) - m</c> is <c>round_even(v)</c> for <c>|v| &lt;= 2^22</c>, and +0 for a zero.</summary>
    private const float SignedMagic = 12582912f;

    private Vector256<float> _lo;
    private Vector256<float> _hi;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Int8Block16Vector256(Vector256<float> lo, Vector256<float> hi)
    {
        _lo = lo;
        _hi = hi;
    }

    public static Int8Block16Vector256 Zero
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => default;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector256 Load(float* source) => new(Vector256.Load(source), Vector256.Load(source + 8));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* destination, Int8Block16Vector256 value)
    {
        value._lo.Store(destination);
        value._hi.Store(destination + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector256 LoadBytes(byte* source)
    {
        if (Avx2.IsSupported)
        {
            return new(
                Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(source)),
                Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(source + 8)));
        }

        Int8Vector128.LoadBytes(source, out Vector128<float> a, out Vector128<float> b, out Vector128<float> c, out Vector128<float> d);
        return new(Vector256.Create(a, b), Vector256.Create(c, d));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector256 Broadcast(float value)
    {
        Vector256<float> v = Vector256.Create(value);
        return new(v, v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector256 MultiplyAdd(Int8Block16Vector256 a, Int8Block16Vector256 b, Int8Block16Vector256 c) =>
        Fma.IsSupported
            ? new(Fma.MultiplyAdd(a._lo, b._lo, c._lo), Fma.MultiplyAdd(a._hi, b._hi, c._hi))
            : new((a._lo * b._lo) + c._lo, (a._hi * b._hi) + c._hi);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector256 Multiply(Int8Block16Vector256 a, Int8Block16Vector256 b) => new(a._lo * b._lo, a._hi * b._hi);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector256 Add(Int8Block16Vector256 a, Int8Block16Vector256 b) => new(a._lo + b._lo, a._hi + b._hi);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector256 AddBias(Int8Block16Vector256 exactSum, int* bias)
    {
        if (Avx.IsSupported)
        {
            return new(
                Avx.ConvertToVector256Single(Avx.ConvertToVector256Int32WithTruncation(exactSum._lo) + Vector256.Load(bias)),
                Avx.ConvertToVector256Single(Avx.ConvertToVector256Int32WithTruncation(exactSum._hi) + Vector256.Load(bias + 8)));
        }

        return new(
            Vector256.Create(Int8Vector128.AddBias(exactSum._lo.GetLower(), bias), Int8Vector128.AddBias(exactSum._lo.GetUpper(), bias + 4)),
            Vector256.Create(Int8Vector128.AddBias(exactSum._hi.GetLower(), bias + 8), Int8Vector128.AddBias(exactSum._hi.GetUpper(), bias + 12)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector256 LoadBias(int* bias) =>
        new(Vector256.ConvertToSingle(Vector256.Load(bias)), Vector256.ConvertToSingle(Vector256.Load(bias + 8)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreBytes(byte* destination, Int8Block16Vector256 y)
    {
        if (Avx2.IsSupported)
        {
            Int8Epilogue.PackBytes16(Int8Epilogue.RoundToBytes(y._lo), Int8Epilogue.RoundToBytes(y._hi)).Store(destination);
            return;
        }

        Int8Vector128.RoundToBytes(y._lo.GetLower(), y._lo.GetUpper(), y._hi.GetLower(), y._hi.GetUpper()).Store(destination);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector256 RoundToInt8(Int8Block16Vector256 v)
    {
        if (Avx.IsSupported)
        {
            Vector256<float> m = Vector256.Create(SignedMagic);
            Vector256<float> lo = Vector256.Create(-127f);
            Vector256<float> hi = Vector256.Create(127f);
            return new((Avx.Min(Avx.Max(v._lo, lo), hi) + m) - m, (Avx.Min(Avx.Max(v._hi, lo), hi) + m) - m);
        }

        return new(
            Vector256.Create(Int8Vector128.RoundToInt8(v._lo.GetLower()), Int8Vector128.RoundToInt8(v._lo.GetUpper())),
            Vector256.Create(Int8Vector128.RoundToInt8(v._hi.GetLower()), Int8Vector128.RoundToInt8(v._hi.GetUpper())));
    }
}
