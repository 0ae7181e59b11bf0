using System;
using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// Sixteen floats in a fixed buffer processed with scalar loops: the <see cref="IInt8Block16{T}"/> of
/// <see cref="SimdLevel.Scalar"/>, written as the contract's formulas read.
/// </summary>
internal unsafe struct Int8Block16Scalar : IInt8Block16<Int8Block16Scalar>
{
    private const int Lanes = 16;

    private fixed float _v[Lanes];

    public static Int8Block16Scalar Zero
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => default;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Scalar Load(float* source)
    {
        Int8Block16Scalar r = default;
        for (int i = 0; i < Lanes; i++)
        {
            r._v[i] = source[i];
        }

        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* destination, Int8Block16Scalar value)
    {
        for (int i = 0; i < Lanes; i++)
        {
            destination[i] = value._v[i];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Scalar LoadBytes(byte* source)
    {
        Int8Block16Scalar r = default;
        for (int i = 0; i < Lanes; i++)
        {
            r._v[i] = source[i];
        }

        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Scalar Broadcast(float value)
    {
        Int8Block16Scalar r = default;
        for (int i = 0; i < Lanes; i++)
        {
            r._v[i] = value;
        }

        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Scalar MultiplyAdd(Int8Block16Scalar a, Int8Block16Scalar b, Int8Block16Scalar c)
    {
        Int8Block16Scalar r = default;
        for (int i = 0; i < Lanes; i++)
        {
            r._v[i] = (a._v[i] * b._v[i]) + c._v[i];
        }

        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Scalar Multiply(Int8Block16Scalar a, Int8Block16Scalar b)
    {
        Int8Block16Scalar r = default;
        for (int i = 0; i < Lanes; i++)
        {
            r._v[i] = a._v[i] * b._v[i];
        }

        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Scalar Add(Int8Block16Scalar a, Int8Block16Scalar b)
    {
        Int8Block16Scalar r = default;
        for (int i = 0; i < Lanes; i++)
        {
            r._v[i] = a._v[i] + b._v[i];
        }

        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Scalar AddBias(Int8Block16Scalar exactSum, int* bias)
    {
        Int8Block16Scalar r = default;
        for (int i = 0; i < Lanes; i++)
        {
            r._v[i] = (int)exactSum._v[i] + bias[i];
        }

        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Scalar LoadBias(int* bias)
    {
        Int8Block16Scalar r = default;
        for (int i = 0; i < Lanes; i++)
        {
            r._v[i] = bias[i];
        }

        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreBytes(byte* destination, Int8Block16Scalar y)
    {
        for (int i = 0; i < Lanes; i++)
        {
            destination[i] = Int8Epilogue.RoundToByte(y._v[i]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Int8Block16Scalar RoundToInt8(Int8Block16Scalar v)
    {
        Int8Block16Scalar r = default;
        for (int i = 0; i < Lanes; i++)
        {
            r._v[i] = (int)MathF.Round(Math.Min(Math.Max(v._v[i], -127f), 127f));
        }

        return r;
    }
}
