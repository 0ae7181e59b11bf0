using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace MobileOne.Runtime;

/// <summary>Sixteen floats as four <see cref="Vector128{T}"/>: the <see cref="IBlock16{T}"/> of <see cref="SimdLevel.Vector128"/>.</summary>
internal unsafe struct Block16Vector128 : IBlock16<Block16Vector128>
{
    private Vector128<float> _a;
    private Vector128<float> _b;
    private Vector128<float> _c;
    private Vector128<float> _d;

    private Block16Vector128(Vector128<float> a, Vector128<float> b, Vector128<float> c, Vector128<float> d)
    {
        _a = a;
        _b = b;
        _c = c;
        _d = d;
    }

    public static Block16Vector128 Zero
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(Vector128<float>.Zero, Vector128<float>.Zero, Vector128<float>.Zero, Vector128<float>.Zero);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Vector128 Load(float* source) =>
        new(Vector128.Load(source), Vector128.Load(source + 4), Vector128.Load(source + 8), Vector128.Load(source + 12));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* destination, Block16Vector128 value)
    {
        value._a.Store(destination);
        value._b.Store(destination + 4);
        value._c.Store(destination + 8);
        value._d.Store(destination + 12);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Vector128 Broadcast(float value)
    {
        Vector128<float> v = Vector128.Create(value);
        return new(v, v, v, v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Vector128 MultiplyAdd(Block16Vector128 a, Block16Vector128 b, Block16Vector128 c)
    {
        if (Fma.IsSupported)
        {
            return new(
                Fma.MultiplyAdd(a._a, b._a, c._a),
                Fma.MultiplyAdd(a._b, b._b, c._b),
                Fma.MultiplyAdd(a._c, b._c, c._c),
                Fma.MultiplyAdd(a._d, b._d, c._d));
        }

        if (AdvSimd.IsSupported)
        {
            return new(
                AdvSimd.FusedMultiplyAdd(c._a, a._a, b._a),
                AdvSimd.FusedMultiplyAdd(c._b, a._b, b._b),
                AdvSimd.FusedMultiplyAdd(c._c, a._c, b._c),
                AdvSimd.FusedMultiplyAdd(c._d, a._d, b._d));
        }

        return new(a._a * b._a + c._a, a._b * b._b + c._b, a._c * b._c + c._c, a._d * b._d + c._d);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Vector128 Add(Block16Vector128 a, Block16Vector128 b) => new(a._a + b._a, a._b + b._b, a._c + b._c, a._d + b._d);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Vector128 Multiply(Block16Vector128 a, Block16Vector128 b) => new(a._a * b._a, a._b * b._b, a._c * b._c, a._d * b._d);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Vector128 Max(Block16Vector128 a, Block16Vector128 b) =>
        new(Vector128.Max(a._a, b._a), Vector128.Max(a._b, b._b), Vector128.Max(a._c, b._c), Vector128.Max(a._d, b._d));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Vector128 ReluMax(Block16Vector128 x)
    {
        Vector128<float> z = Vector128<float>.Zero;
        return new(Vector128.Max(x._a, z), Vector128.Max(x._b, z), Vector128.Max(x._c, z), Vector128.Max(x._d, z));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Block16Vector128 value) => Vector128.Sum((value._a + value._b) + (value._c + value._d));
}
