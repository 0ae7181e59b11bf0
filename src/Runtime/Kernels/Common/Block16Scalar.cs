using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace MobileOne.Runtime;

/// <summary>
/// Sixteen floats as a fixed buffer processed with scalar loops: the <see cref="IBlock16{T}"/> of
/// <see cref="SimdLevel.Scalar"/> (the portable reference path).
/// </summary>
internal unsafe struct Block16Scalar : IBlock16<Block16Scalar>
{
    private const int Lanes = 16;

    private fixed float _v[Lanes];

    public static Block16Scalar Zero
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => default;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Scalar Load(float* source)
    {
        Block16Scalar r = default;
        for (int i = 0; i < Lanes; i++)
        {
            r._v[i] = source[i];
        }

        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* destination, Block16Scalar value)
    {
        for (int i = 0; i < Lanes; i++)
        {
            destination[i] = value._v[i];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Scalar Broadcast(float value)
    {
        Block16Scalar r = default;
        for (int i = 0; i < Lanes; i++)
        {
            r._v[i] = value;
        }

        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Scalar MultiplyAdd(Block16Scalar a, Block16Scalar b, Block16Scalar c)
    {
        Block16Scalar r = default;
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
    public static Block16Scalar Add(Block16Scalar a, Block16Scalar b)
    {
        Block16Scalar r = default;
        for (int i = 0; i < Lanes; i++)
        {
            r._v[i] = a._v[i] + b._v[i];
        }

        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Scalar Multiply(Block16Scalar a, Block16Scalar b)
    {
        Block16Scalar r = default;
        for (int i = 0; i < Lanes; i++)
        {
            r._v[i] = a._v[i] * b._v[i];
        }

        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Scalar Max(Block16Scalar a, Block16Scalar b)
    {
        Block16Scalar r = default;
        for (int i = 0; i < Lanes; i++)
        {
            float x = a._v[i];
            float y = b._v[i];
            r._v[i] = x > y ? x : y;
        }

        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Block16Scalar ReluMax(Block16Scalar x)
    {
        Block16Scalar r = default;
        for (int i = 0; i < Lanes; i++)
        {
            float v = x._v[i];
            r._v[i] = v > 0f ? v : 0f;
        }

        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Block16Scalar value)
    {
        float s = 0f;
        for (int i = 0; i < Lanes; i++)
        {
            s += value._v[i];
        }

        return s;
    }
}
