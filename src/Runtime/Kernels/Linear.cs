using System;
using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The classifier head: <c>output[o] = bias[o] + sum_i input[i] * W[o, i]</c> over the weight packed in blocks of 16
/// outputs (<c>[NP/16][Cin][16]</c>), four blocks at a time, so that the weights stream from memory contiguously.
/// </summary>
public static unsafe class Linear
{
    /// <summary>Runs the fully connected layer on spans; every length is checked before any memory is touched.</summary>
    /// <param name="input">At least <c>inFeatures</c> floats.</param>
    /// <param name="inFeatures">Input features.</param>
    /// <param name="weights">Packed weights (<c>[NP/16][Cin][16]</c>), at least <c>inFeatures * outFeaturesPadded</c> floats.</param>
    /// <param name="bias">Packed bias, at least <c>outFeaturesPadded</c> floats.</param>
    /// <param name="outFeaturesPadded">Outputs rounded up to a multiple of 16.</param>
    /// <param name="output">At least <c>outFeaturesPadded</c> floats.</param>
    public static void Run(ReadOnlySpan<float> input, int inFeatures, ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, int outFeaturesPadded, Span<float> output)
    {
        KernelArguments.Length(input, inFeatures, nameof(input));
        KernelArguments.Length(weights, (long)inFeatures * outFeaturesPadded, nameof(weights));
        KernelArguments.Length(bias, outFeaturesPadded, nameof(bias));
        KernelArguments.Length(output, outFeaturesPadded, nameof(output));
        fixed (float* i = input)
        fixed (float* w = weights)
        fixed (float* b = bias)
        fixed (float* o = output)
        {
            Run(i, inFeatures, w, b, outFeaturesPadded, o);
        }
    }

    /// <summary>Runs the fully connected layer (no activation).</summary>
    /// <param name="input">Input features, at least <paramref name="inFeatures"/> floats.</param>
    /// <param name="inFeatures">Input features Cin.</param>
    /// <param name="weights">Packed weight <c>[NP/16][Cin][16]</c> (see <see cref="WeightPacking.PackLinear"/>).</param>
    /// <param name="bias">Packed bias <c>[NP]</c>.</param>
    /// <param name="outFeaturesPadded">NP, output features rounded up to a multiple of 16.</param>
    /// <param name="output">Output, <paramref name="outFeaturesPadded"/> floats (padding outputs come out 0).</param>
    public static void Run(float* input, int inFeatures, float* weights, float* bias, int outFeaturesPadded, float* output)
    {
        KernelArguments.Positive(inFeatures, nameof(inFeatures));
        KernelArguments.Padded(outFeaturesPadded, 1, nameof(outFeaturesPadded));

        long start = KernelProfiler.Start();
        var ctx = new Context { Input = input, InFeatures = inFeatures, Weights = weights, Bias = bias, Output = output, Blocks = outFeaturesPadded / 16, Level = Simd.Level };

        // The head streams its whole weight once per call (5 MB for 1280 -> 1000): memory-bound, so a large one is split
        // into groups of four 16-output blocks across threads, each streaming its own share of the weights.
        long macs = (long)inFeatures * outFeaturesPadded;
        Parallelism.For(&Part, &ctx, macs < 200_000 ? 1 : (ctx.Blocks + 3) / 4);
        KernelProfiler.Stop(start, "head: linear", macs);
    }

    private static void Part(void* context, int part, int parts)
    {
        var c = (Context*)context;
        Parallelism.Range(c->Blocks, 4, part, parts, out int b0, out int b1);
        if (b1 <= b0)
        {
            return;
        }

        nint panel = (nint)c->InFeatures * 16;
        float* w = c->Weights + (b0 * panel);
        float* b = c->Bias + (b0 * 16);
        float* o = c->Output + (b0 * 16);
        int np = (b1 - b0) * 16;
        switch (c->Level)
        {
            case SimdLevel.Vector512:
                Run<Block512>(c->Input, c->InFeatures, w, b, np, o);
                break;
            case SimdLevel.Vector256:
                Run<Block256>(c->Input, c->InFeatures, w, b, np, o);
                break;
            case SimdLevel.Vector128:
                Run<Block128>(c->Input, c->InFeatures, w, b, np, o);
                break;
            default:
                Run<BlockScalar>(c->Input, c->InFeatures, w, b, np, o);
                break;
        }
    }

    private struct Context
    {
        public float* Input;
        public int InFeatures;
        public float* Weights;
        public float* Bias;
        public float* Output;
        public int Blocks;
        public SimdLevel Level;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<T>(float* input, int inFeatures, float* weights, float* bias, int np, float* output)
        where T : struct, IFloat16Block<T>
    {
        int blocks = np / 16;
        nint panel = (nint)inFeatures * 16;
        int b = 0;
        for (; b + 4 <= blocks; b += 4)
        {
            float* w0 = weights + (b * panel);
            float* w1 = w0 + panel;
            float* w2 = w1 + panel;
            float* w3 = w2 + panel;
            float* bb = bias + (b * 16);
            T a0 = T.Load(bb);
            T a1 = T.Load(bb + 16);
            T a2 = T.Load(bb + 32);
            T a3 = T.Load(bb + 48);
            for (nint i = 0; i < inFeatures; i++)
            {
                T x = T.Broadcast(input[i]);
                a0 = T.MultiplyAdd(x, T.Load(w0 + (i * 16)), a0);
                a1 = T.MultiplyAdd(x, T.Load(w1 + (i * 16)), a1);
                a2 = T.MultiplyAdd(x, T.Load(w2 + (i * 16)), a2);
                a3 = T.MultiplyAdd(x, T.Load(w3 + (i * 16)), a3);
            }

            float* o = output + (b * 16);
            T.Store(o, a0);
            T.Store(o + 16, a1);
            T.Store(o + 32, a2);
            T.Store(o + 48, a3);
        }

        for (; b < blocks; b++)
        {
            float* w = weights + (b * panel);
            T a = T.Load(bias + (b * 16));
            for (nint i = 0; i < inFeatures; i++)
            {
                a = T.MultiplyAdd(T.Broadcast(input[i]), T.Load(w + (i * 16)), a);
            }

            T.Store(output + (b * 16), a);
        }
    }
}
