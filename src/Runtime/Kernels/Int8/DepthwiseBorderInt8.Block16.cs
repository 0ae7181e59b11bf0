using System;
using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The border path of <see cref="DepthwiseConv3x3Int8"/>: 1 output pixel x all channels for the pixels whose 3x3 window
/// crosses the zero padding (a tap outside the input adds nothing, so it is skipped).
/// </summary>
internal static unsafe class DepthwiseBorderInt8Block16
{
    /// <summary>One output pixel (all channel blocks) with taps outside the input skipped (zero padding).</summary>
    /// <remarks><paramref name="biasInSum"/> as in <see cref="Depthwise4x16Int8Block16.Row{T, TOut}"/>.</remarks>
    /// <typeparam name="T">The level's block.</typeparam>
    /// <typeparam name="TOut">Requantized bytes or dequantized floats.</typeparam>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static void Pixel<T, TOut>(
        byte* input, int inHeight, int inWidth, int cp, float* weights, int* bias, float* scale, byte* outPixel,
        int blocks, int oy, int ox, int stride, bool biasInSum)
        where T : struct, IInt8Block16<T>
        where TOut : struct, IInt8Output
    {
        // The taps inside the input, once per pixel: [ky0, ky1) x [kx0, kx1).
        int iy0 = (oy * stride) - 1;
        int ix0 = (ox * stride) - 1;
        int ky0 = Math.Max(0, -iy0), ky1 = Math.Min(3, inHeight - iy0);
        int kx0 = Math.Max(0, -ix0), kx1 = Math.Min(3, inWidth - ix0);
        nint rowStride = (nint)inWidth * cp;
        byte* first = input + ((((nint)(iy0 + ky0) * inWidth) + ix0 + kx0) * cp);
        float* firstWeight = weights + ((((ky0 * 3) + kx0) * (nint)cp));
        for (int b = 0; b < blocks; b++)
        {
            T a = biasInSum ? T.LoadBias(bias + (b * 16)) : T.Zero;
            byte* row = first + (b * 16);
            float* wrow = firstWeight + (b * 16);
            for (int ky = ky0; ky < ky1; ky++)
            {
                for (int kx = 0; kx < kx1 - kx0; kx++)
                {
                    a = T.MultiplyAdd(T.LoadBytes(row + (kx * (nint)cp)), T.Load(wrow + (kx * (nint)cp)), a);
                }

                row += rowStride;
                wrow += 3 * (nint)cp;
            }

            Depthwise4x16Int8Block16.Finish<T, TOut>(outPixel + (b * 16 * TOut.ElementSize), a, bias + (b * 16), scale + (b * 16), biasInSum);
        }
    }
}
