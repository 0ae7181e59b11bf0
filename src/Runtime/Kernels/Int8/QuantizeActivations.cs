// Kernels/Int8: an entry point; the folder's files are listed at the top of PointwiseConvInt8.cs.
using System;

namespace MobileOne.Runtime;

/// <summary>
/// Quantizes a float NHWC-16 activation to u8 NHWC-16 (after squeeze-excite, docs/quantization.md):
/// <c>(byte)round_even(min(max(x * inv, 0), 255))</c> with <c>inv = 1f / s_out</c>. Padding channels (0) stay 0.
/// </summary>
public static unsafe class QuantizeActivations
{
    /// <summary>Quantizes on spans; every length is checked before any memory is touched.</summary>
    /// <param name="input">Float NHWC-16 input, at least <c>pixels * channelsPadded</c> floats.</param>
    /// <param name="pixels">Pixels (height x width).</param>
    /// <param name="channelsPadded">Channels rounded up to a multiple of 16.</param>
    /// <param name="inverseScale"><c>1f / s_out</c>, computed once in float.</param>
    /// <param name="output">u8 NHWC-16 output, at least <c>pixels * channelsPadded</c> bytes.</param>
    /// <exception cref="ArgumentException">A span is too short (the exception names it).</exception>
    public static void Run(ReadOnlySpan<float> input, int pixels, int channelsPadded, float inverseScale, Span<byte> output)
    {
        KernelArguments.Length(input, (long)pixels * channelsPadded, nameof(input));
        KernelArguments.Length<byte>(output, (long)pixels * channelsPadded, nameof(output));
        fixed (float* i = input)
        fixed (byte* o = output)
        {
            Run(i, pixels, channelsPadded, inverseScale, o);
        }
    }

    /// <summary>Quantizes <paramref name="pixels"/> NHWC-16 pixels.</summary>
    /// <param name="input">Float NHWC-16 input, <c>pixels * channelsPadded</c> floats.</param>
    /// <param name="pixels">Pixels (height x width).</param>
    /// <param name="channelsPadded">Channels rounded up to a multiple of 16.</param>
    /// <param name="inverseScale"><c>1f / s_out</c>, computed once in float.</param>
    /// <param name="output">u8 NHWC-16 output, <c>pixels * channelsPadded</c> bytes.</param>
    public static void Run(float* input, int pixels, int channelsPadded, float inverseScale, byte* output)
    {
        KernelArguments.Positive(pixels, nameof(pixels));
        KernelArguments.Padded(channelsPadded, 1, nameof(channelsPadded));
        long count = (long)pixels * channelsPadded;
        if (count > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(pixels), pixels, "pixels * channelsPadded must fit an int.");
        }

        long start = KernelProfiler.Start();
        Int8KernelTable.Current.QuantizeActivations(input, (int)count, inverseScale, output);
        KernelProfiler.Stop(start, "int8 quantize activations", count);
    }
}
