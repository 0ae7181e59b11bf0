// Kernels/Pooling: an entry point without ISA variants (a scalar copy); the folder's naming convention is described at
// the top of GlobalAvgPool.cs.
using System;

namespace MobileOne.Runtime;

/// <summary>
/// Copies an internal NHWC-16 activation out as a caller's CHW feature map (PyTorch's layout), dropping the
/// padding channels: what detection and segmentation heads read from the backbone.
/// </summary>
public static class FeatureMapToChw
{
    /// <summary>Transposes <c>[pixels][channelsPadded]</c> into <c>[channels][pixels]</c>.</summary>
    /// <param name="input">NHWC-16 activation, at least <c>pixels * channelsPadded</c> floats.</param>
    /// <param name="pixels">Height x width.</param>
    /// <param name="channels">Real channels.</param>
    /// <param name="channelsPadded">Channels rounded up to a multiple of 16.</param>
    /// <param name="output">Exactly <c>channels * pixels</c> floats.</param>
    /// <exception cref="ArgumentException">A span has the wrong length.</exception>
    public static void Run(ReadOnlySpan<float> input, int pixels, int channels, int channelsPadded, Span<float> output)
    {
        KernelArguments.Positive(pixels, nameof(pixels));
        KernelArguments.Padded(channelsPadded, channels, nameof(channelsPadded));
        KernelArguments.Length(input, (long)pixels * channelsPadded, nameof(input));
        if (output.Length != (long)channels * pixels)
        {
            throw new ArgumentException($"Expected {channels} x {pixels} = {(long)channels * pixels} floats, got {output.Length}.", nameof(output));
        }

        // Blocked over pixels so each input row is read once and each output row written in runs.
        const int Tile = 64;
        for (int p0 = 0; p0 < pixels; p0 += Tile)
        {
            int p1 = Math.Min(pixels, p0 + Tile);
            for (int c = 0; c < channels; c++)
            {
                Span<float> dst = output.Slice((c * pixels) + p0, p1 - p0);
                for (int p = p0; p < p1; p++)
                {
                    dst[p - p0] = input[(p * channelsPadded) + c];
                }
            }
        }
    }
}
