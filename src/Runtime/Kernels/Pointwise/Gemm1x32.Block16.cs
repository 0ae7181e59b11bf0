using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>The <c>Block16</c> tile of <see cref="PointwiseConv"/>: 1 pixel x 32 output channels (the pixel remainder of <see cref="Gemm4x32Block16"/>).</summary>
internal static unsafe class Gemm1x32Block16
{
    /// <summary>Computes the tile, bias and optional ReLU fused.</summary>
    /// <typeparam name="T">The level's 16-float block.</typeparam>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void Run<T>(float* a, int cin, float* w, nint panel, float* bias, float* o, bool relu)
        where T : struct, IBlock16<T>
    {
        T c0 = T.Load(bias);
        T c1 = T.Load(bias + 16);
        float* w1 = w + panel;
        for (int k = 0; k < cin; k++)
        {
            T x = T.Broadcast(a[k]);
            c0 = T.MultiplyAdd(x, T.Load(w), c0);
            c1 = T.MultiplyAdd(x, T.Load(w1), c1);
            w += 16;
            w1 += 16;
        }

        if (relu)
        {
            c0 = T.ReluMax(c0);
            c1 = T.ReluMax(c1);
        }

        T.Store(o, c0);
        T.Store(o + 16, c1);
    }
}
