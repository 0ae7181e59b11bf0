using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace MobileOne.Runtime;

/// <summary>
/// Sixteen floats (one channel block of the NHWC-16 layout) held in whatever registers a SIMD level offers.
/// Kernels are written once, generic over this interface; the JIT specialises each struct instantiation, so
/// the static abstract calls compile to straight vector instructions.
/// </summary>
/// <typeparam name="T">The implementing struct.</typeparam>
internal unsafe interface IFloat16Block<T>
    where T : struct, IFloat16Block<T>
{
    /// <summary>Gets a block of zeros.</summary>
    static abstract T Zero { get; }

    /// <summary>Loads 16 floats from <paramref name="source"/> (no alignment required).</summary>
    static abstract T Load(float* source);

    /// <summary>Stores 16 floats to <paramref name="destination"/> (no alignment required).</summary>
    static abstract void Store(float* destination, T value);

    /// <summary>Returns a block with every lane equal to <paramref name="value"/>.</summary>
    static abstract T Broadcast(float value);

    /// <summary>Returns <c>a * b + c</c>, fused where the hardware can.</summary>
    static abstract T MultiplyAdd(T a, T b, T c);

    /// <summary>Returns <c>a + b</c>.</summary>
    static abstract T Add(T a, T b);

    /// <summary>Returns <c>a * b</c>.</summary>
    static abstract T Multiply(T a, T b);

    /// <summary>Returns the lane-wise maximum.</summary>
    static abstract T Max(T a, T b);

    /// <summary>Returns <c>max(x, 0)</c> lane-wise (ReLU).</summary>
    static abstract T ReluMax(T x);

    /// <summary>Returns the sum of the 16 lanes.</summary>
    static abstract float Sum(T value);
}

/// <summary>A 16-float block as one <see cref="Vector512{T}"/>.</summary>
internal unsafe struct Block512 : IFloat16Block<Block512>
{
    private Vector512<float> _v;

    private Block512(Vector512<float> v) => _v = v;

    public static Block512 Zero
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(Vector512<float>.Zero);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block512 Load(float* source) => new(Vector512.Load(source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* destination, Block512 value) => value._v.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block512 Broadcast(float value) => new(Vector512.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block512 MultiplyAdd(Block512 a, Block512 b, Block512 c) =>
        Avx512F.IsSupported ? new(Avx512F.FusedMultiplyAdd(a._v, b._v, c._v)) : new(a._v * b._v + c._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block512 Add(Block512 a, Block512 b) => new(a._v + b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block512 Multiply(Block512 a, Block512 b) => new(a._v * b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block512 Max(Block512 a, Block512 b) => new(Vector512.Max(a._v, b._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block512 ReluMax(Block512 x) => new(Vector512.Max(x._v, Vector512<float>.Zero));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Block512 value) => Vector512.Sum(value._v);
}

/// <summary>A 16-float block as two <see cref="Vector256{T}"/>.</summary>
internal unsafe struct Block256 : IFloat16Block<Block256>
{
    private Vector256<float> _a;
    private Vector256<float> _b;

    private Block256(Vector256<float> a, Vector256<float> b)
    {
        _a = a;
        _b = b;
    }

    public static Block256 Zero
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(Vector256<float>.Zero, Vector256<float>.Zero);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block256 Load(float* source) => new(Vector256.Load(source), Vector256.Load(source + 8));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* destination, Block256 value)
    {
        value._a.Store(destination);
        value._b.Store(destination + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block256 Broadcast(float value)
    {
        Vector256<float> v = Vector256.Create(value);
        return new(v, v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block256 MultiplyAdd(Block256 a, Block256 b, Block256 c) =>
        Fma.IsSupported
            ? new(Fma.MultiplyAdd(a._a, b._a, c._a), Fma.MultiplyAdd(a._b, b._b, c._b))
            : new(a._a * b._a + c._a, a._b * b._b + c._b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block256 Add(Block256 a, Block256 b) => new(a._a + b._a, a._b + b._b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block256 Multiply(Block256 a, Block256 b) => new(a._a * b._a, a._b * b._b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block256 Max(Block256 a, Block256 b) => new(Vector256.Max(a._a, b._a), Vector256.Max(a._b, b._b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block256 ReluMax(Block256 x) =>
        new(Vector256.Max(x._a, Vector256<float>.Zero), Vector256.Max(x._b, Vector256<float>.Zero));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Block256 value) => Vector256.Sum(value._a + value._b);
}

/// <summary>A 16-float block as four <see cref="Vector128{T}"/>.</summary>
internal unsafe struct Block128 : IFloat16Block<Block128>
{
    private Vector128<float> _a;
    private Vector128<float> _b;
    private Vector128<float> _c;
    private Vector128<float> _d;

    private Block128(Vector128<float> a, Vector128<float> b, Vector128<float> c, Vector128<float> d)
    {
        _a = a;
        _b = b;
        _c = c;
        _d = d;
    }

    public static Block128 Zero
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(Vector128<float>.Zero, Vector128<float>.Zero, Vector128<float>.Zero, Vector128<float>.Zero);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block128 Load(float* source) =>
        new(Vector128.Load(source), Vector128.Load(source + 4), Vector128.Load(source + 8), Vector128.Load(source + 12));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* destination, Block128 value)
    {
        value._a.Store(destination);
        value._b.Store(destination + 4);
        value._c.Store(destination + 8);
        value._d.Store(destination + 12);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block128 Broadcast(float value)
    {
        Vector128<float> v = Vector128.Create(value);
        return new(v, v, v, v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block128 MultiplyAdd(Block128 a, Block128 b, Block128 c)
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
    public static Block128 Add(Block128 a, Block128 b) => new(a._a + b._a, a._b + b._b, a._c + b._c, a._d + b._d);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block128 Multiply(Block128 a, Block128 b) => new(a._a * b._a, a._b * b._b, a._c * b._c, a._d * b._d);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block128 Max(Block128 a, Block128 b) =>
        new(Vector128.Max(a._a, b._a), Vector128.Max(a._b, b._b), Vector128.Max(a._c, b._c), Vector128.Max(a._d, b._d));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block128 ReluMax(Block128 x)
    {
        Vector128<float> z = Vector128<float>.Zero;
        return new(Vector128.Max(x._a, z), Vector128.Max(x._b, z), Vector128.Max(x._c, z), Vector128.Max(x._d, z));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Block128 value) => Vector128.Sum((value._a + value._b) + (value._c + value._d));
}

/// <summary>A 16-float block as a fixed buffer processed with scalar loops (the portable reference path).</summary>
internal unsafe struct BlockScalar : IFloat16Block<BlockScalar>
{
    private const int Lanes = 16;

    private fixed float _v[Lanes];

    public static BlockScalar Zero
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => default;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static BlockScalar Load(float* source)
    {
        BlockScalar r = default;
        for (int i = 0; i < Lanes; i++)
        {
            r._v[i] = source[i];
        }

        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* destination, BlockScalar value)
    {
        for (int i = 0; i < Lanes; i++)
        {
            destination[i] = value._v[i];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static BlockScalar Broadcast(float value)
    {
        BlockScalar r = default;
        for (int i = 0; i < Lanes; i++)
        {
            r._v[i] = value;
        }

        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static BlockScalar MultiplyAdd(BlockScalar a, BlockScalar b, BlockScalar c)
    {
        BlockScalar r = default;
        if (Fma.IsSupported || AdvSimd.IsSupported)
        {
            for (int i = 0; i < Lanes; i++)
            {
                r._v[i] = MathF.FusedMultiplyAdd(a._v[i], b._v[i], c._v[i]);
            }
        }
        else
        {
            for (int i = 0; i < Lanes; i++)
            {
                r._v[i] = (a._v[i] * b._v[i]) + c._v[i];
            }
        }

        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static BlockScalar Add(BlockScalar a, BlockScalar b)
    {
        BlockScalar r = default;
        for (int i = 0; i < Lanes; i++)
        {
            r._v[i] = a._v[i] + b._v[i];
        }

        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static BlockScalar Multiply(BlockScalar a, BlockScalar b)
    {
        BlockScalar r = default;
        for (int i = 0; i < Lanes; i++)
        {
            r._v[i] = a._v[i] * b._v[i];
        }

        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static BlockScalar Max(BlockScalar a, BlockScalar b)
    {
        BlockScalar r = default;
        for (int i = 0; i < Lanes; i++)
        {
            float x = a._v[i];
            float y = b._v[i];
            r._v[i] = x > y ? x : y;
        }

        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static BlockScalar ReluMax(BlockScalar x)
    {
        BlockScalar r = default;
        for (int i = 0; i < Lanes; i++)
        {
            float v = x._v[i];
            r._v[i] = v > 0f ? v : 0f;
        }

        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(BlockScalar value)
    {
        float s = 0f;
        for (int i = 0; i < Lanes; i++)
        {
            s += value._v[i];
        }

        return s;
    }
}
