// Kernels/Int8: an entry point; the folder's files are listed at the top of PointwiseConvInt8.cs.
using System;

namespace MobileOne.Runtime;

/// <summary>
/// Quantizes the caller's float input (CHW, normalised) for the INT8 stem: <c>(float)(int)round_even(clamp(x * inv,
/// -127, 127))</c> with <c>inv = 1f / s_input</c> (docs/quantization.md), kept as float (exact small integers; a zero is +0)
/// because the stem runs the FP32 <see cref="StemConv3x3"/> on them.
/// </summary>
public static unsafe class QuantizeInput
{
    /// <summary>Quantizes <paramref name="input"/> into <paramref name="output"/> (which may be the same memory).</summary>
    /// <param name="input">Float input, any length.</param>
    /// <param name="inverseScale"><c>1f / s_input</c>, computed once in float.</param>
    /// <param name="output">At least <c>input.Length</c> floats.</param>
    /// <exception cref="ArgumentException"><paramref name="output"/> is too short.</exception>
    public static void Run(ReadOnlySpan<float> input, float inverseScale, Span<float> output)
    {
        KernelArguments.Length<float>(output, input.Length, nameof(output));
        fixed (float* i = input)
        fixed (float* o = output)
        {
            Run(i, input.Length, inverseScale, o);
        }
    }

    /// <summary>Quantizes <paramref name="count"/> floats (in place when <paramref name="output"/> is <paramref name="input"/>).</summary>
    /// <param name="input">Float input.</param>
    /// <param name="count">Number of floats.</param>
    /// <param name="inverseScale"><c>1f / s_input</c>, computed once in float.</param>
    /// <param name="output">Integer-valued float output, <paramref name="count"/> floats.</param>
    public static void Run(float* input, int count, float inverseScale, float* output)
    {
        if (count < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "Must not be negative.");
        }

        long start = KernelProfiler.Start();
        Int8KernelTable.Current.QuantizeInput(input, count, inverseScale, output);
        KernelProfiler.Stop(start, "int8 quantize input", count);
    }
}
