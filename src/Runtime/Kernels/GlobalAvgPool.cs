using System;
using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>Global average pooling of an NHWC-16 activation into a <c>[CP]</c> vector.</summary>
public static unsafe class GlobalAvgPool
{
    /// <summary>Averages over pixels on spans; every length is checked before any memory is touched.</summary>
    /// <param name="input">NHWC-16 input, at least <c>pixels * channelsPadded</c> floats.</param>
    /// <param name="pixels">Pixels (height x width).</param>
    /// <param name="channelsPadded">Channels rounded up to a multiple of 16.</param>
    /// <param name="output">At least <c>channelsPadded</c> floats.</param>
    public static void Run(ReadOnlySpan<float> input, int pixels, int channelsPadded, Span<float> output)
    {
        KernelArguments.Length(input, (long)pixels * channelsPadded, nameof(input));
        KernelArguments.Length(output, channelsPadded, nameof(output));
        fixed (float* i = input)
        fixed (float* o = output)
        {
            Run(i, pixels, channelsPadded, o);
        }
    }

    /// <summary>Writes the per-channel mean over all pixels.</summary>
    /// <param name="input">NHWC-16 input, <c>pixels * channelsPadded</c> floats.</param>
    /// <param name="pixels">Number of pixels (height * width).</param>
    /// <param name="channelsPadded">Channels rounded up to a multiple of 16.</param>
    /// <param name="output">Output, <c>channelsPadded</c> floats (padding channels come out 0 when they are 0 in the input).</param>
    public static void Run(float* input, int pixels, int channelsPadded, float* output)
    {
        KernelArguments.Positive(pixels, nameof(pixels));
        KernelArguments.Padded(channelsPadded, 1, nameof(channelsPadded));

        long start = KernelProfiler.Start();
        switch (Simd.Level)
        {
            case SimdLevel.Vector512:
                Mean<Block512>(input, pixels, channelsPadded, output);
                break;
            case SimdLevel.Vector256:
                Mean<Block256>(input, pixels, channelsPadded, output);
                break;
            case SimdLevel.Vector128:
                Mean<Block128>(input, pixels, channelsPadded, output);
                break;
            default:
                Mean<BlockScalar>(input, pixels, channelsPadded, output);
                break;
        }

        KernelProfiler.Stop(start, "head: global pool", (long)pixels * channelsPadded);
    }

    /// <summary>The generic implementation, also used by <see cref="SqueezeExcite"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Mean<T>(float* input, int pixels, int cp, float* output)
        where T : struct, IFloat16Block<T>
    {
        int blocks = cp / 16;
        T scale = T.Broadcast(1f / pixels);
        nint step = (nint)cp * 4;
        for (int b = 0; b < blocks; b++)
        {
            float* p = input + (b * 16);
            T s0 = T.Zero, s1 = T.Zero, s2 = T.Zero, s3 = T.Zero;
            int i = 0;
            for (; i + 4 <= pixels; i += 4)
            {
                s0 = T.Add(s0, T.Load(p));
                s1 = T.Add(s1, T.Load(p + cp));
                s2 = T.Add(s2, T.Load(p + (2 * cp)));
                s3 = T.Add(s3, T.Load(p + (3 * cp)));
                p += step;
            }

            for (; i < pixels; i++)
            {
                s0 = T.Add(s0, T.Load(p));
                p += cp;
            }

            T.Store(output + (b * 16), T.Multiply(T.Add(T.Add(s0, s1), T.Add(s2, s3)), scale));
        }
    }
}
