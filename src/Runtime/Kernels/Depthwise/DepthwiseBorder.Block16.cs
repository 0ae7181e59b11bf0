using System;
using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The border path of <see cref="DepthwiseConv3x3"/>: 1 output pixel x all channels for the pixels whose 3x3 window
/// crosses the zero padding (the first and last rows and columns).
/// </summary>
internal static unsafe class DepthwiseBorderBlock16
{
    /// <summary>One output pixel (all channel blocks) with taps outside the input skipped (zero padding).</summary>
    /// <typeparam name="T">The level's 16-float block.</typeparam>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void Pixel<T>(
        float* input, int inHeight, int inWidth, int cp, float* weights, float* bias, float* outPixel,
        int blocks, int oy, int ox, int stride, bool relu)
        where T : struct, IBlock16<T>
    {
        // The taps inside the input, once per pixel: [ky0, ky1) x [kx0, kx1).
        int iy0 = (oy * stride) - 1;
        int ix0 = (ox * stride) - 1;
        int ky0 = Math.Max(0, -iy0), ky1 = Math.Min(3, inHeight - iy0);
        int kx0 = Math.Max(0, -ix0), kx1 = Math.Min(3, inWidth - ix0);
        nint rowStride = (nint)inWidth * cp;
        float* first = input + ((((nint)(iy0 + ky0) * inWidth) + ix0 + kx0) * cp);
        float* firstWeight = weights + ((((ky0 * 3) + kx0) * (nint)cp));
        for (int b = 0; b < blocks; b++)
        {
            T a = T.Load(bias + (b * 16));
            float* row = first + (b * 16);
            float* wrow = firstWeight + (b * 16);
            for (int ky = ky0; ky < ky1; ky++)
            {
                for (int kx = 0; kx < kx1 - kx0; kx++)
                {
                    a = T.MultiplyAdd(T.Load(row + (kx * (nint)cp)), T.Load(wrow + (kx * (nint)cp)), a);
                }

                row += rowStride;
                wrow += 3 * (nint)cp;
            }

            if (relu)
            {
                a = T.ReluMax(a);
            }

            T.Store(outPixel + (b * 16), a);
        }
    }
}
