using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MobileOne.Runtime;

/// <summary>Sixteen floats as one <see cref="Vector512{T}"/>: the <see cref="IBlock16{T}"/> of <see cref="SimdLevel.Vector512"/>.</summary>
internal unsafe struct Block16Vector512 : IBlock16<Block16Vector512>
{
    private Vector512<float> _v;

    private Block16Vector512(Vector512<float> v) => _v = v;

    public static Block16Vector512 Zero
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(Vector512<float>.Zero);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Vector512 Load(float* source) => new(Vector512.Load(source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* destination, Block16Vector512 value) => value._v.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Vector512 Broadcast(float value) => new(Vector512.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Vector512 MultiplyAdd(Block16Vector512 a, Block16Vector512 b, Block16Vector512 c) =>
        Avx512F.IsSupported ? new(Avx512F.FusedMultiplyAdd(a._v, b._v, c._v)) : new(a._v * b._v + c._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Vector512 Add(Block16Vector512 a, Block16Vector512 b) => new(a._v + b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Vector512 Multiply(Block16Vector512 a, Block16Vector512 b) => new(a._v * b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Vector512 Max(Block16Vector512 a, Block16Vector512 b) => new(Vector512.Max(a._v, b._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Vector512 ReluMax(Block16Vector512 x) => new(Vector512.Max(x._v, Vector512<float>.Zero));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Block16Vector512 value) => Vector512.Sum(value._v);
}
