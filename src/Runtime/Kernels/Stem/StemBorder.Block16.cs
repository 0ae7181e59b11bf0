using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The border path of <see cref="StemConv3x3"/>: 1 output pixel x all output channels for the pixels whose 3x3 window
/// crosses the zero padding (the first and last rows and columns).
/// </summary>
internal static unsafe class StemBorderBlock16
{
    /// <summary>One output pixel (all channel blocks) with taps outside the input skipped (zero padding).</summary>
    /// <typeparam name="T">The level's 16-float block.</typeparam>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void Pixel<T>(
        float* input, int inChannels, int inHeight, int inWidth, float* weights, float* bias, float* outPixel,
        int blocks, int oy, int ox, int stride, bool relu)
        where T : struct, IBlock16<T>
    {
        int plane = inHeight * inWidth;
        int blockWeights = inChannels * 9 * 16;
        int iy0 = (oy * stride) - 1;
        int ix0 = (ox * stride) - 1;
        for (int b = 0; b < blocks; b++)
        {
            T a = T.Load(bias + (b * 16));
            float* wb = weights + ((nint)b * blockWeights);
            for (int ci = 0; ci < inChannels; ci++)
            {
                for (int ky = 0; ky < 3; ky++)
                {
                    int iy = iy0 + ky;
                    if ((uint)iy >= (uint)inHeight)
                    {
                        continue;
                    }

                    for (int kx = 0; kx < 3; kx++)
                    {
                        int ix = ix0 + kx;
                        if ((uint)ix >= (uint)inWidth)
                        {
                            continue;
                        }

                        float v = input[((nint)ci * plane) + ((nint)iy * inWidth) + ix];
                        a = T.MultiplyAdd(T.Broadcast(v), T.Load(wb + ((((ci * 3) + ky) * 3) + kx) * 16), a);
                    }
                }
            }

            if (relu)
            {
                a = T.ReluMax(a);
            }

            T.Store(outPixel + (b * 16), a);
        }
    }
}
