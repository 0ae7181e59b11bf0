using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>The <c>Block16</c> tile of <see cref="PointwiseConv"/>: 4 pixels x 32 output channels (two adjacent <c>[Cin][16]</c> weight panels); the 8 accumulators stay in registers.</summary>
internal static unsafe class Gemm4x32Block16
{
    /// <summary>Computes the tile, bias and optional ReLU fused.</summary>
    /// <typeparam name="T">The level's 16-float block.</typeparam>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void Run<T>(float* a, int cinP, int cin, float* w, nint panel, float* bias, float* o, int coutP, bool relu)
        where T : struct, IBlock16<T>
    {
        T b0 = T.Load(bias);
        T b1 = T.Load(bias + 16);
        T c00 = b0, c01 = b1, c10 = b0, c11 = b1, c20 = b0, c21 = b1, c30 = b0, c31 = b1;
        float* a1 = a + cinP;
        float* a2 = a1 + cinP;
        float* a3 = a2 + cinP;
        float* w1 = w + panel;
        for (int k = 0; k < cin; k++)
        {
            T wa = T.Load(w);
            T wb = T.Load(w1);
            T x = T.Broadcast(a[k]);
            c00 = T.MultiplyAdd(x, wa, c00);
            c01 = T.MultiplyAdd(x, wb, c01);
            x = T.Broadcast(a1[k]);
            c10 = T.MultiplyAdd(x, wa, c10);
            c11 = T.MultiplyAdd(x, wb, c11);
            x = T.Broadcast(a2[k]);
            c20 = T.MultiplyAdd(x, wa, c20);
            c21 = T.MultiplyAdd(x, wb, c21);
            x = T.Broadcast(a3[k]);
            c30 = T.MultiplyAdd(x, wa, c30);
            c31 = T.MultiplyAdd(x, wb, c31);
            w += 16;
            w1 += 16;
        }

        if (relu)
        {
            c00 = T.ReluMax(c00);
            c01 = T.ReluMax(c01);
            c10 = T.ReluMax(c10);
            c11 = T.ReluMax(c11);
            c20 = T.ReluMax(c20);
            c21 = T.ReluMax(c21);
            c30 = T.ReluMax(c30);
            c31 = T.ReluMax(c31);
        }

        T.Store(o, c00);
        T.Store(o + 16, c01);
        o += coutP;
        T.Store(o, c10);
        T.Store(o + 16, c11);
        o += coutP;
        T.Store(o, c20);
        T.Store(o + 16, c21);
        o += coutP;
        T.Store(o, c30);
        T.Store(o + 16, c31);
    }
}
