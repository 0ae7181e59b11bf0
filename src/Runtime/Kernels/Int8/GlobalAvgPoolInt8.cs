// Kernels/Int8: an entry point; the folder's files are listed at the top of PointwiseConvInt8.cs.
using System;

namespace MobileOne.Runtime;

/// <summary>
/// Global average pooling of a u8 NHWC-16 activation into a float <c>[CP]</c> vector for the FP32 head
/// (docs/quantization.md): <c>pooled[c] = (float)sum[c] * k</c>, with the exact integer <c>sum[c]</c> over the pixels
/// and <c>k = s_last / pixels</c> computed once by the caller in float.
/// </summary>
public static unsafe class GlobalAvgPoolInt8
{
    /// <summary>Pools on spans; every length is checked before any memory is touched.</summary>
    /// <param name="input">u8 NHWC-16 input, at least <c>pixels * channelsPadded</c> bytes.</param>
    /// <param name="pixels">Pixels (height x width).</param>
    /// <param name="channelsPadded">Channels rounded up to a multiple of 16.</param>
    /// <param name="multiplier"><c>k = s_last / pixels</c>, computed once in float.</param>
    /// <param name="output">At least <c>channelsPadded</c> floats.</param>
    /// <exception cref="ArgumentException">A span is too short (the exception names it).</exception>
    public static void Run(ReadOnlySpan<byte> input, int pixels, int channelsPadded, float multiplier, Span<float> output)
    {
        KernelArguments.Length(input, (long)pixels * channelsPadded, nameof(input));
        KernelArguments.Length<float>(output, channelsPadded, nameof(output));
        fixed (byte* i = input)
        fixed (float* o = output)
        {
            Run(i, pixels, channelsPadded, multiplier, o);
        }
    }

    /// <summary>Writes <c>(float)sum[c] * multiplier</c> for every channel.</summary>
    /// <param name="input">u8 NHWC-16 input, <c>pixels * channelsPadded</c> bytes.</param>
    /// <param name="pixels">Pixels (height x width).</param>
    /// <param name="channelsPadded">Channels rounded up to a multiple of 16.</param>
    /// <param name="multiplier"><c>k = s_last / pixels</c>, computed once in float.</param>
    /// <param name="output"><c>channelsPadded</c> floats (padding channels come out 0 when they are 0 in the input).</param>
    public static void Run(byte* input, int pixels, int channelsPadded, float multiplier, float* output)
    {
        KernelArguments.Positive(pixels, nameof(pixels));
        KernelArguments.Padded(channelsPadded, 1, nameof(channelsPadded));
        long start = KernelProfiler.Start();
        Int8KernelTable.Current.SumBytes(input, pixels, channelsPadded, multiplier, output);
        KernelProfiler.Stop(start, "head: int8 global pool", (long)pixels * channelsPadded);
    }
}
