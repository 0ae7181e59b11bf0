using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>The <c>Block16</c> tile of <see cref="PointwiseConv"/>: 1 pixel x 16 output channels (both remainders).</summary>
internal static unsafe class Gemm1x16Block16
{
    /// <summary>Computes the tile, bias and optional ReLU fused.</summary>
    /// <typeparam name="T">The level's 16-float block.</typeparam>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void Run<T>(float* a, int cin, float* w, float* bias, float* o, bool relu)
        where T : struct, IBlock16<T>
    {
        T c0 = T.Load(bias);
        for (int k = 0; k < cin; k++)
        {
            c0 = T.MultiplyAdd(T.Broadcast(a[k]), T.Load(w), c0);
            w += 16;
        }

        if (relu)
        {
            c0 = T.ReluMax(c0);
        }

        T.Store(o, c0);
    }
}
