using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MobileOne.Runtime;

/// <summary>Sixteen floats as four <see cref="Vector128{T}"/>: the <see cref="IInt8Block16{T}"/> of <see cref="SimdLevel.Vector128"/>.</summary>
internal unsafe struct Int8Block16Vector128 : IInt8Block16<Int8Block16Vector128>
{
    private Vector128<float> _a;
    private Vector128<float> _b;
    private Vector128<float> _c;
    private Vector128<float> _d;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Int8Block16Vector128(Vector128<float> a, Vector128<float> b, Vector128<float> c, Vector128<float> d)
    {
        _a = a;
        _b = b;
        _c = c;
        _d = d;
    }

    public static Int8Block16Vector128 Zero
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => default;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector128 Load(float* source) =>
        new(Vector128.Load(source), Vector128.Load(source + 4), Vector128.Load(source + 8), Vector128.Load(source + 12));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* destination, Int8Block16Vector128 value)
    {
        value._a.Store(destination);
        value._b.Store(destination + 4);
        value._c.Store(destination + 8);
        value._d.Store(destination + 12);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector128 LoadBytes(byte* source)
    {
        Int8Vector128.LoadBytes(source, out Vector128<float> a, out Vector128<float> b, out Vector128<float> c, out Vector128<float> d);
        return new(a, b, c, d);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector128 Broadcast(float value)
    {
        Vector128<float> v = Vector128.Create(value);
        return new(v, v, v, v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector128 MultiplyAdd(Int8Block16Vector128 a, Int8Block16Vector128 b, Int8Block16Vector128 c)
    {
        if (Fma.IsSupported)
        {
            return new(
                Fma.MultiplyAdd(a._a, b._a, c._a),
                Fma.MultiplyAdd(a._b, b._b, c._b),
                Fma.MultiplyAdd(a._c, b._c, c._c),
                Fma.MultiplyAdd(a._d, b._d, c._d));
        }

        return new((a._a * b._a) + c._a, (a._b * b._b) + c._b, (a._c * b._c) + c._c, (a._d * b._d) + c._d);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector128 Multiply(Int8Block16Vector128 a, Int8Block16Vector128 b) =>
        new(a._a * b._a, a._b * b._b, a._c * b._c, a._d * b._d);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector128 Add(Int8Block16Vector128 a, Int8Block16Vector128 b) =>
        new(a._a + b._a, a._b + b._b, a._c + b._c, a._d + b._d);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector128 AddBias(Int8Block16Vector128 exactSum, int* bias) =>
        new(
            Int8Vector128.AddBias(exactSum._a, bias),
            Int8Vector128.AddBias(exactSum._b, bias + 4),
            Int8Vector128.AddBias(exactSum._c, bias + 8),
            Int8Vector128.AddBias(exactSum._d, bias + 12));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector128 LoadBias(int* bias) =>
        new(
            Vector128.ConvertToSingle(Vector128.Load(bias)),
            Vector128.ConvertToSingle(Vector128.Load(bias + 4)),
            Vector128.ConvertToSingle(Vector128.Load(bias + 8)),
            Vector128.ConvertToSingle(Vector128.Load(bias + 12)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreBytes(byte* destination, Int8Block16Vector128 y) =>
        Int8Vector128.RoundToBytes(y._a, y._b, y._c, y._d).Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Vector128 RoundToInt8(Int8Block16Vector128 v) =>
        new(Int8Vector128.RoundToInt8(v._a), Int8Vector128.RoundToInt8(v._b), Int8Vector128.RoundToInt8(v._c), Int8Vector128.RoundToInt8(v._d));
}
