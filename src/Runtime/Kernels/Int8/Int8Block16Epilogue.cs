using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>The epilogue of the <c>Int8 ... Block16</c> kernels: an exact integer sum of 16 channels to u8 or float.</summary>
internal static unsafe class Int8Block16Epilogue
{
    /// <summary>
    /// Writes <c>acc = (int)exactSum + bias</c> as <c>(byte)round_even(min(max((float)acc * m, 0), 255))</c>
    /// (<see cref="RequantizedBytes"/>) or <c>(float)acc * d</c> (<see cref="DequantizedFloats"/>).
    /// </summary>
    /// <param name="o">The output block: 16 bytes or 16 floats.</param>
    /// <param name="exactSum">Integer sums (below 2^24 in magnitude, so exact in float).</param>
    /// <param name="bias">16 int32 biases.</param>
    /// <param name="scale">16 multipliers, <c>m[o]</c> or <c>d[o]</c>.</param>
    /// <typeparam name="T">The level's block.</typeparam>
    /// <typeparam name="TOut">Requantized bytes or dequantized floats.</typeparam>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store<T, TOut>(byte* o, T exactSum, int* bias, float* scale)
        where T : struct, IInt8Block16<T>
        where TOut : struct, IInt8Output =>
        StoreAccumulator<T, TOut>(o, T.AddBias(exactSum, bias), scale);

    /// <summary>
    /// Writes an accumulator that already holds <c>(float)acc</c> (the bias included): <c>(byte)round_even(min(max(acc *
    /// m, 0), 255))</c> or <c>acc * d</c>.
    /// </summary>
    /// <param name="o">The output block: 16 bytes or 16 floats.</param>
    /// <param name="acc">The accumulators as floats.</param>
    /// <param name="scale">16 multipliers, <c>m[o]</c> or <c>d[o]</c>.</param>
    /// <typeparam name="T">The level's block.</typeparam>
    /// <typeparam name="TOut">Requantized bytes or dequantized floats.</typeparam>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StoreAccumulator<T, TOut>(byte* o, T acc, float* scale)
        where T : struct, IInt8Block16<T>
        where TOut : struct, IInt8Output
    {
        T v = T.Multiply(acc, T.Load(scale));
        if (TOut.Floats)
        {
            T.Store((float*)o, v);
        }
        else
        {
            T.StoreBytes(o, v);
        }
    }
}
