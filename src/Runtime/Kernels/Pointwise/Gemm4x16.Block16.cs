using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>The <c>Block16</c> tile of <see cref="PointwiseConv"/>: 4 pixels x 16 output channels (an odd last block).</summary>
internal static unsafe class Gemm4x16Block16
{
    /// <summary>Computes the tile, bias and optional ReLU fused.</summary>
    /// <typeparam name="T">The level's 16-float block.</typeparam>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void Run<T>(float* a, int cinP, int cin, float* w, float* bias, float* o, int coutP, bool relu)
        where T : struct, IBlock16<T>
    {
        T c0 = T.Load(bias);
        T c1 = c0, c2 = c0, c3 = c0;
        float* a1 = a + cinP;
        float* a2 = a1 + cinP;
        float* a3 = a2 + cinP;
        for (int k = 0; k < cin; k++)
        {
            T wa = T.Load(w);
            c0 = T.MultiplyAdd(T.Broadcast(a[k]), wa, c0);
            c1 = T.MultiplyAdd(T.Broadcast(a1[k]), wa, c1);
            c2 = T.MultiplyAdd(T.Broadcast(a2[k]), wa, c2);
            c3 = T.MultiplyAdd(T.Broadcast(a3[k]), wa, c3);
            w += 16;
        }

        if (relu)
        {
            c0 = T.ReluMax(c0);
            c1 = T.ReluMax(c1);
            c2 = T.ReluMax(c2);
            c3 = T.ReluMax(c3);
        }

        T.Store(o, c0);
        T.Store(o + coutP, c1);
        T.Store(o + (2 * coutP), c2);
        T.Store(o + (3 * coutP), c3);
    }
}
