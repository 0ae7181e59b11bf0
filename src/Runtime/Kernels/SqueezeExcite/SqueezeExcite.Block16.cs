using System;
using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The micro-kernel of <see cref="SqueezeExcite"/> at every level (<see cref="KernelTable.SqueezeExcite"/>), in place:
/// squeeze (<see cref="Mean4x16Block16"/>), reduce, expand, sigmoid, excite.
/// </summary>
internal static unsafe class SqueezeExciteBlock16
{
    /// <summary>Runs squeeze-and-excite in place (arguments as <see cref="SqueezeExcite.Run(float*, int, int, int, int, float*, float*, float*, float*, float*, bool)"/>).</summary>
    /// <typeparam name="T">The level's 16-float block.</typeparam>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Run<T>(
        float* x, int pixels, int channels, int cp, int reduced,
        float* reduceWeights, float* reduceBias, float* expandWeights, float* expandBias,
        float* scratch, bool relu)
        where T : struct, IBlock16<T>
    {
        int blocks = cp / 16;
        float* mean = scratch;        // [CP]: the mean, later the gate
        float* hidden = scratch + cp; // [R]

        // Squeeze.
        Mean4x16Block16.Run<T>(x, pixels, cp, mean);

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
