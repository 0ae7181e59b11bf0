using System;
using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The element-wise conversions of the INT8 network at every level, 16 channels per step: integer sums to u8
/// (<see cref="RequantizeAccumulators"/>), float activations to u8 (<see cref="QuantizeActivations"/>) and the float
/// input to integer-valued floats (<see cref="QuantizeInput"/>), each exactly as docs/quantization.md writes it.
/// </summary>
internal static unsafe class QuantizeBlock16
{
    /// <summary>
    /// <c>acc = (int)x + bias[o]</c>, then <c>(byte)round_even(min(max((float)acc * m[o], 0), 255))</c>, for
    /// <paramref name="pixels"/> NHWC-16 pixels.
    /// </summary>
    /// <typeparam name="T">The level's block.</typeparam>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Accumulators<T>(float* input, int pixels, int cp, int* bias, float* multipliers, byte* output)
        where T : struct, IInt8Block16<T>
    {
        for (int p = 0; p < pixels; p++)
        {
            float* x = input + ((nint)p * cp);
            byte* o = output + ((nint)p * cp);
            for (int c = 0; c < cp; c += 16)
            {
                Int8Block16Epilogue.Store<T, RequantizedBytes>(o + c, T.Load(x + c), bias + c, multipliers + c);
            }
        }
    }

    /// <summary><c>(byte)round_even(min(max(x * inv, 0), 255))</c> for <paramref name="count"/> (a multiple of 16) floats.</summary>
    /// <typeparam name="T">The level's block.</typeparam>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Activations<T>(float* input, int count, float inv, byte* output)
        where T : struct, IInt8Block16<T>
    {
        T scale = T.Broadcast(inv);
        for (int i = 0; i < count; i += 16)
        {
            T.StoreBytes(output + i, T.Multiply(T.Load(input + i), scale));
        }
    }

    /// <summary><c>(float)(int)round_even(clamp(x * inv, -127, 127))</c> for <paramref name="count"/> floats.</summary>
    /// <typeparam name="T">The level's block.</typeparam>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Input<T>(float* input, int count, float inv, float* output)
        where T : struct, IInt8Block16<T>
    {
        T scale = T.Broadcast(inv);
        int i = 0;
        for (; i + 16 <= count; i += 16)
        {
            T.Store(output + i, T.RoundToInt8(T.Multiply(T.Load(input + i), scale)));
        }

        for (; i < count; i++)
        {
            output[i] = (int)MathF.Round(Math.Min(Math.Max(input[i] * inv, -127f), 127f));
        }
    }
}
