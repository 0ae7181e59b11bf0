using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The interior tile of <see cref="StemConv3x3"/> for one block of 16 output channels: 4 output pixels x 16 output
/// channels per step (each weight vector loaded once for 4 pixels), the 1-3 pixels left over 1 x 16.
/// </summary>
internal static unsafe class Stem4x16Block16
{
    /// <summary>
    /// Interior columns [<paramref name="oxBegin"/>, <paramref name="oxEnd"/>) of one output row for one block of 16
    /// output channels, bias and optional ReLU fused.
    /// </summary>
    /// <param name="inRow">Top-left tap of output column 0 (column -1 of input row <c>oy*stride-1</c>).</param>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="plane">Floats per input channel plane.</param>
    /// <param name="inWidth">Input width.</param>
    /// <param name="s">Stride.</param>
    /// <param name="weights">The block's packed weights <c>[Cin][3][3][16]</c>.</param>
    /// <param name="bias">The block's 16 biases.</param>
    /// <param name="outRow">The output row, offset to the block.</param>
    /// <param name="cp">Output channels padded (the output pixel stride).</param>
    /// <param name="oxBegin">First column.</param>
    /// <param name="oxEnd">End column.</param>
    /// <param name="relu">Whether to apply ReLU after the bias.</param>
    /// <typeparam name="T">The level's 16-float block.</typeparam>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void Run<T>(
        float* inRow, int inChannels, int plane, int inWidth, int s, float* weights, float* bias,
        float* outRow, int cp, int oxBegin, int oxEnd, bool relu)
        where T : struct, IBlock16<T>
    {
        T bv = T.Load(bias);
        int ox = oxBegin;
        for (; ox + 4 <= oxEnd; ox += 4)
        {
            T a0 = bv, a1 = bv, a2 = bv, a3 = bv;
            float* p = inRow + ((nint)ox * s);
            float* wp = weights;
            for (int ci = 0; ci < inChannels; ci++)
            {
                float* r = p + ((nint)ci * plane);
                for (int ky = 0; ky < 3; ky++)
                {
                    T w0 = T.Load(wp);
                    T w1 = T.Load(wp + 16);
                    T w2 = T.Load(wp + 32);
                    a0 = T.MultiplyAdd(T.Broadcast(r[0]), w0, a0);
                    a1 = T.MultiplyAdd(T.Broadcast(r[s]), w0, a1);
                    a2 = T.MultiplyAdd(T.Broadcast(r[2 * s]), w0, a2);
                    a3 = T.MultiplyAdd(T.Broadcast(r[3 * s]), w0, a3);
                    a0 = T.MultiplyAdd(T.Broadcast(r[1]), w1, a0);
                    a1 = T.MultiplyAdd(T.Broadcast(r[s + 1]), w1, a1);
                    a2 = T.MultiplyAdd(T.Broadcast(r[(2 * s) + 1]), w1, a2);
                    a3 = T.MultiplyAdd(T.Broadcast(r[(3 * s) + 1]), w1, a3);
                    a0 = T.MultiplyAdd(T.Broadcast(r[2]), w2, a0);
                    a1 = T.MultiplyAdd(T.Broadcast(r[s + 2]), w2, a1);
                    a2 = T.MultiplyAdd(T.Broadcast(r[(2 * s) + 2]), w2, a2);
                    a3 = T.MultiplyAdd(T.Broadcast(r[(3 * s) + 2]), w2, a3);
                    wp += 48;
                    r += inWidth;
                }
            }

            Block16Stores.Four(outRow + ((nint)ox * cp), cp, a0, a1, a2, a3, relu);
        }

        for (; ox < oxEnd; ox++)
        {
            T a = bv;
            float* p = inRow + ((nint)ox * s);
            float* wp = weights;
            for (int ci = 0; ci < inChannels; ci++)
            {
                float* r = p + ((nint)ci * plane);
                for (int ky = 0; ky < 3; ky++)
                {
                    a = T.MultiplyAdd(T.Broadcast(r[0]), T.Load(wp), a);
                    a = T.MultiplyAdd(T.Broadcast(r[1]), T.Load(wp + 16), a);
                    a = T.MultiplyAdd(T.Broadcast(r[2]), T.Load(wp + 32), a);
                    wp += 48;
                    r += inWidth;
                }
            }

            if (relu)
            {
                a = T.ReluMax(a);
            }

            T.Store(outRow + ((nint)ox * cp), a);
        }
    }
}
