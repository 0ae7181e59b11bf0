using System;
using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// Squeeze-and-excite, in place on an NHWC-16 activation:
/// <c>x *= sigmoid(expand(relu(reduce(mean(x)))))</c>, then optional ReLU.
/// </summary>
public static unsafe class SqueezeExcite
{
    /// <summary>Runs squeeze-excite in place on spans; every length is checked before any memory is touched.</summary>
    /// <param name="x">NHWC-16 activations, at least <c>pixels * channelsPadded</c> floats.</param>
    /// <param name="pixels">Pixels (height x width).</param>
    /// <param name="channels">Channels.</param>
    /// <param name="channelsPadded">Channels rounded up to a multiple of 16.</param>
    /// <param name="reducedChannels">Channels of the squeeze (R).</param>
    /// <param name="reduceWeights">Packed reduce weights, at least <c>R * channelsPadded</c> floats.</param>
    /// <param name="reduceBias">Packed reduce bias, at least <c>RoundUp16(R)</c> floats.</param>
    /// <param name="expandWeights">Packed (transposed) expand weights, at least <c>R * channelsPadded</c> floats.</param>
    /// <param name="expandBias">Packed expand bias, at least <c>channelsPadded</c> floats.</param>
    /// <param name="scratch">At least <c>channelsPadded + RoundUp16(R)</c> floats.</param>
    /// <param name="relu">Whether to apply ReLU after the gating.</param>
    public static void Run(
        Span<float> x, int pixels, int channels, int channelsPadded, int reducedChannels,
        ReadOnlySpan<float> reduceWeights, ReadOnlySpan<float> reduceBias, ReadOnlySpan<float> expandWeights, ReadOnlySpan<float> expandBias,
        Span<float> scratch, bool relu)
    {
        KernelArguments.Positive(reducedChannels, nameof(reducedChannels));
        KernelArguments.Length(x, (long)pixels * channelsPadded, nameof(x));
        KernelArguments.Length(reduceWeights, (long)reducedChannels * channelsPadded, nameof(reduceWeights));
        KernelArguments.Length(reduceBias, PackedSize.SeReduceBias(reducedChannels), nameof(reduceBias));
        KernelArguments.Length(expandWeights, (long)reducedChannels * channelsPadded, nameof(expandWeights));
        KernelArguments.Length(expandBias, channelsPadded, nameof(expandBias));
        KernelArguments.Length(scratch, (long)channelsPadded + PackedSize.RoundUp16(reducedChannels), nameof(scratch));
        fixed (float* px = x)
        fixed (float* rw = reduceWeights)
        fixed (float* rb = reduceBias)
        fixed (float* ew = expandWeights)
        fixed (float* eb = expandBias)
        fixed (float* s = scratch)
        {
            Run(px, pixels, channels, channelsPadded, reducedChannels, rw, rb, ew, eb, s, relu);
        }
    }

    /// <summary>Runs squeeze-and-excite in place.</summary>
    /// <param name="x">NHWC-16 activation, <c>pixels * channelsPadded</c> floats; overwritten with the result.</param>
    /// <param name="pixels">Number of pixels (height * width).</param>
    /// <param name="channels">Real channels C.</param>
    /// <param name="channelsPadded">CP, channels rounded up to a multiple of 16.</param>
    /// <param name="reducedChannels">Reduced channels R.</param>
    /// <param name="reduceWeights">Packed reduce weight <c>[R][CP]</c> (see <see cref="WeightPacking.PackSeReduce"/>).</param>
    /// <param name="reduceBias">Packed reduce bias <c>[RoundUp(R, 16)]</c>.</param>
    /// <param name="expandWeights">Packed, transposed expand weight <c>[R][CP]</c> (see <see cref="WeightPacking.PackSeExpand"/>).</param>
    /// <param name="expandBias">Packed expand bias <c>[CP]</c>.</param>
    /// <param name="scratch">Scratch of at least <c>CP + RoundUp(R, 16)</c> floats; contents on entry are ignored.</param>
    /// <param name="relu">Whether to apply ReLU after the scaling.</param>
    public static void Run(
        float* x, int pixels, int channels, int channelsPadded, int reducedChannels,
        float* reduceWeights, float* reduceBias, float* expandWeights, float* expandBias,
        float* scratch, bool relu)
    {
        KernelArguments.Positive(pixels, nameof(pixels));
        KernelArguments.Positive(channels, nameof(channels));
        KernelArguments.Padded(channelsPadded, channels, nameof(channelsPadded));
        KernelArguments.Positive(reducedChannels, nameof(reducedChannels));

        long start = KernelProfiler.Start();
        switch (Simd.Level)
        {
            case SimdLevel.Vector512:
                Run<Block512>(x, pixels, channels, channelsPadded, reducedChannels, reduceWeights, reduceBias, expandWeights, expandBias, scratch, relu);
                break;
            case SimdLevel.Vector256:
                Run<Block256>(x, pixels, channels, channelsPadded, reducedChannels, reduceWeights, reduceBias, expandWeights, expandBias, scratch, relu);
                break;
            case SimdLevel.Vector128:
                Run<Block128>(x, pixels, channels, channelsPadded, reducedChannels, reduceWeights, reduceBias, expandWeights, expandBias, scratch, relu);
                break;
            default:
                Run<BlockScalar>(x, pixels, channels, channelsPadded, reducedChannels, reduceWeights, reduceBias, expandWeights, expandBias, scratch, relu);
                break;
        }

        KernelProfiler.Stop(start, "squeeze-excite", (long)pixels * channelsPadded * 2 + 2L * reducedChannels * channelsPadded);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<T>(
        float* x, int pixels, int channels, int cp, int reduced,
        float* reduceWeights, float* reduceBias, float* expandWeights, float* expandBias,
        float* scratch, bool relu)
        where T : struct, IFloat16Block<T>
    {
        int blocks = cp / 16;
        float* mean = scratch;        // [CP]: the mean, later the gate
        float* hidden = scratch + cp; // [R]

        // Squeeze.
        GlobalAvgPool.Mean<T>(x, pixels, cp, mean);

        // Reduce (dot products over CP; padding weights are 0) + bias + ReLU.
        for (int r = 0; r < reduced; r++)
        {
            float* w = reduceWeights + ((nint)r * cp);
            T acc = T.Zero;
            for (int b = 0; b < blocks; b++)
            {
                acc = T.MultiplyAdd(T.Load(w + (b * 16)), T.Load(mean + (b * 16)), acc);
            }

            float h = T.Sum(acc) + reduceBias[r];
            hidden[r] = h > 0f ? h : 0f;
        }

        // Expand, vectorised across channels, over the transposed weight; the result overwrites the mean.
        for (int b = 0; b < blocks; b++)
        {
            T acc = T.Load(expandBias + (b * 16));
            float* w = expandWeights + (b * 16);
            for (int r = 0; r < reduced; r++)
            {
                acc = T.MultiplyAdd(T.Broadcast(hidden[r]), T.Load(w), acc);
                w += cp;
            }

            T.Store(mean + (b * 16), acc);
        }

        // Sigmoid; the gate of a padding channel is 0 so padding stays exactly 0.
        for (int c = 0; c < cp; c++)
        {
            mean[c] = c < channels ? 1f / (1f + MathF.Exp(-mean[c])) : 0f;
        }

        // Excite.
        float* p = x;
        for (int i = 0; i < pixels; i++)
        {
            for (int b = 0; b < blocks; b++)
            {
                T v = T.Multiply(T.Load(p + (b * 16)), T.Load(mean + (b * 16)));
                if (relu)
                {
                    v = T.ReluMax(v);
                }

                T.Store(p + (b * 16), v);
            }

            p += cp;
        }
    }
}
