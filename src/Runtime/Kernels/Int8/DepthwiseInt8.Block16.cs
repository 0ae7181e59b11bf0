using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The driver of <see cref="DepthwiseConv3x3Int8"/> at every level: for each output row of a part, the border pixels
/// go to <see cref="DepthwiseBorderInt8Block16"/> and the interior columns, whose nine taps all lie inside the input, to
/// <see cref="Depthwise4x16Int8Block16"/> (the structure of the FP32 <see cref="DepthwiseBlock16"/>).
/// </summary>
internal static unsafe class DepthwiseInt8Block16
{
    /// <summary>Computes output rows [<paramref name="oyBegin"/>, <paramref name="oyEnd"/>).</summary>
    /// <remarks><paramref name="biasInSum"/> as in <see cref="Depthwise4x16Int8Block16.Row{T, TOut}"/>.</remarks>
    /// <typeparam name="T">The level's block.</typeparam>
    /// <typeparam name="TOut">Requantized bytes or dequantized floats.</typeparam>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Rows<T, TOut>(
        byte* input, int inHeight, int inWidth, int cp, float* weights, int* bias, float* scale, byte* output,
        int outHeight, int outWidth, int stride, bool biasInSum, int oyBegin, int oyEnd)
        where T : struct, IInt8Block16<T>
        where TOut : struct, IInt8Output
    {
        int blocks = cp / 16;
        nint rowStride = (nint)inWidth * cp;
        nint step = (nint)stride * cp;
        nint outPixel = (nint)cp * TOut.ElementSize;
        KernelArguments.Interior(inHeight, outHeight, stride, out int y0, out int y1);
        KernelArguments.Interior(inWidth, outWidth, stride, out int x0, out int x1);

        for (int oy = oyBegin; oy < oyEnd; oy++)
        {
            byte* outRow = output + (oy * outWidth * outPixel);
            if (oy < y0 || oy >= y1)
            {
                for (int ox = 0; ox < outWidth; ox++)
                {
                    DepthwiseBorderInt8Block16.Pixel<T, TOut>(input, inHeight, inWidth, cp, weights, bias, scale, outRow + (ox * outPixel), blocks, oy, ox, stride, biasInSum);
                }

                continue;
            }

            for (int ox = 0; ox < x0; ox++)
            {
                DepthwiseBorderInt8Block16.Pixel<T, TOut>(input, inHeight, inWidth, cp, weights, bias, scale, outRow + (ox * outPixel), blocks, oy, ox, stride, biasInSum);
            }

            for (int ox = x1; ox < outWidth; ox++)
            {
                DepthwiseBorderInt8Block16.Pixel<T, TOut>(input, inHeight, inWidth, cp, weights, bias, scale, outRow + (ox * outPixel), blocks, oy, ox, stride, biasInSum);
            }

            if (x0 >= x1)
            {
                continue;
            }

            // Tap (0, 0) of the first interior column: input (oy*stride-1, x0*stride-1).
            byte* inStart = input + ((((nint)((oy * stride) - 1) * inWidth) + ((x0 * stride) - 1)) * cp);
            Depthwise4x16Int8Block16.Row<T, TOut>(inStart, outRow + (x0 * outPixel), x1 - x0, cp, blocks, rowStride, step, stride, weights, bias, scale, biasInSum);
        }
    }
}
