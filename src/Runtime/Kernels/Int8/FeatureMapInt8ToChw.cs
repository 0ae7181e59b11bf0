// Kernels/Int8: an entry point without ISA variants (a scalar copy); the folder's files are listed at the top of
// PointwiseConvInt8.cs.
using System;

namespace MobileOne.Runtime;

/// <summary>
/// Copies a u8 NHWC-16 activation out as a caller's float CHW feature map (<c>RunFeatures</c> of a quantized network),
/// dropping the padding channels: <c>x = q * s_act</c> (one float multiply, docs/quantization.md).
/// </summary>
public static unsafe class FeatureMapInt8ToChw
{
    /// <summary>Transposes and dequantizes <c>[pixels][channelsPadded]</c> into <c>[channels][pixels]</c>.</summary>
    /// <param name="input">u8 NHWC-16 activation, at least <c>pixels * channelsPadded</c> bytes.</param>
    /// <param name="pixels">Height x width.</param>
    /// <param name="channels">Real channels.</param>
    /// <param name="channelsPadded">Channels rounded up to a multiple of 16.</param>
    /// <param name="scale">The activation's scale <c>s_act</c>.</param>
    /// <param name="output">Exactly <c>channels * pixels</c> floats.</param>
    /// <exception cref="ArgumentException">A span has the wrong length (the exception names it).</exception>
    public static void Run(ReadOnlySpan<byte> input, int pixels, int channels, int channelsPadded, float scale, Span<float> output)
    {
        KernelArguments.Positive(pixels, nameof(pixels));
        KernelArguments.Positive(channels, nameof(channels));
        KernelArguments.Padded(channelsPadded, channels, nameof(channelsPadded));
        KernelArguments.Length(input, (long)pixels * channelsPadded, nameof(input));
        KernelArguments.ExactLength<float>(output, (long)channels * pixels, nameof(output));
        fixed (byte* i = input)
        fixed (float* o = output)
        {
            Copy(i, pixels, channels, channelsPadded, scale, o);
        }
    }

    /// <summary>Transposes and dequantizes <c>[pixels][channelsPadded]</c> into <c>[channels][pixels]</c>.</summary>
    /// <param name="input">u8 NHWC-16 activation, <c>pixels * channelsPadded</c> bytes.</param>
    /// <param name="pixels">Height x width.</param>
    /// <param name="channels">Real channels.</param>
    /// <param name="channelsPadded">Channels rounded up to a multiple of 16.</param>
    /// <param name="scale">The activation's scale <c>s_act</c>.</param>
    /// <param name="output"><c>channels * pixels</c> floats.</param>
    public static void Run(byte* input, int pixels, int channels, int channelsPadded, float scale, float* output)
    {
        KernelArguments.Positive(pixels, nameof(pixels));
        KernelArguments.Positive(channels, nameof(channels));
        KernelArguments.Padded(channelsPadded, channels, nameof(channelsPadded));
        Copy(input, pixels, channels, channelsPadded, scale, output);
    }

    private static void Copy(byte* input, int pixels, int channels, int channelsPadded, float scale, float* output)
    {
        // Blocked over pixels so each input row is read once and each output row written in runs.
        const int Tile = 64;
        for (int p0 = 0; p0 < pixels; p0 += Tile)
        {
            int p1 = Math.Min(pixels, p0 + Tile);
            for (int c = 0; c < channels; c++)
            {
                float* dst = output + ((nint)c * pixels);
                for (int p = p0; p < p1; p++)
                {
                    dst[p] = input[((nint)p * channelsPadded) + c] * scale;
                }
            }
        }
    }
}
