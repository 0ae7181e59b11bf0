using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MobileOne.Runtime;

/// <summary>Sixteen floats as two <see cref="Vector256{T}"/>: the <see cref="IBlock16{T}"/> of <see cref="SimdLevel.Vector256"/>.</summary>
internal unsafe struct Block16Vector256 : IBlock16<Block16Vector256>
{
    private Vector256<float> _a;
    private Vector256<float> _b;

    private Block16Vector256(Vector256<float> a, Vector256<float> b)
    {
        _a = a;
        _b = b;
    }

    public static Block16Vector256 Zero
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(Vector256<float>.Zero, Vector256<float>.Zero);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Vector256 Load(float* source) => new(Vector256.Load(source), Vector256.Load(source + 8));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* destination, Block16Vector256 value)
    {
        value._a.Store(destination);
        value._b.Store(destination + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Vector256 Broadcast(float value)
    {
        Vector256<float> v = Vector256.Create(value);
        return new(v, v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Vector256 MultiplyAdd(Block16Vector256 a, Block16Vector256 b, Block16Vector256 c) =>
        Fma.IsSupported
            ? new(Fma.MultiplyAdd(a._a, b._a, c._a), Fma.MultiplyAdd(a._b, b._b, c._b))
            : new(a._a * b._a + c._a, a._b * b._b + c._b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Vector256 Add(Block16Vector256 a, Block16Vector256 b) => new(a._a + b._a, a._b + b._b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Vector256 Multiply(Block16Vector256 a, Block16Vector256 b) => new(a._a * b._a, a._b * b._b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Vector256 Max(Block16Vector256 a, Block16Vector256 b) => new(Vector256.Max(a._a, b._a), Vector256.Max(a._b, b._b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Vector256 ReluMax(Block16Vector256 x) =>
        new(Vector256.Max(x._a, Vector256<float>.Zero), Vector256.Max(x._b, Vector256<float>.Zero));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Block16Vector256 value) => Vector256.Sum(value._a + value._b);
}
