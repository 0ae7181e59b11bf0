using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The micro-kernel of <see cref="Linear"/> at every level (<see cref="KernelTable.LinearGemv"/>): 1 input vector x 64
/// outputs per step (four <c>[Cin][16]</c> weight panels streamed together, each input broadcast once for the four), the
/// blocks left over 1 x 16.
/// </summary>
internal static unsafe class Gemv1x64Block16
{
    /// <summary>Computes <paramref name="np"/> outputs (a multiple of 16), bias fused.</summary>
    /// <typeparam name="T">The level's 16-float block.</typeparam>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Run<T>(float* input, int inFeatures, float* weights, float* bias, int np, float* output)
        where T : struct, IBlock16<T>
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
