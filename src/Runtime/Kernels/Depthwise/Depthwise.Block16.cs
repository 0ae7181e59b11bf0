using System;
using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The driver of <see cref="DepthwiseConv3x3"/> at every level (<see cref="KernelTable.DepthwiseRows"/>): for each output
/// row of a part, the border pixels go to <see cref="DepthwiseBorderBlock16"/> and the interior columns, whose nine taps
/// all lie inside the input, to <see cref="Depthwise4x16Block16"/>. At Vector512 and stride 1, two output rows at a
/// time, the top and bottom rows included (<see cref="Depthwise4x16Block16.TwoRows{T}"/>, a row of zeros above and
/// below the image), and only the first and last column take the border path.
/// </summary>
internal static unsafe class DepthwiseBlock16
{
    /// <summary>Computes output rows [<paramref name="oyBegin"/>, <paramref name="oyEnd"/>).</summary>
    /// <typeparam name="T">The level's 16-float block.</typeparam>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Rows<T>(
        float* input, int inHeight, int inWidth, int cp,
        float* weights, float* bias, float* output,
        int outHeight, int outWidth, int stride, bool relu, int oyBegin, int oyEnd)
        where T : struct, IBlock16<T>
    {
        int blocks = cp / 16;
        nint rowStride = (nint)inWidth * cp;
        nint step = (nint)stride * cp;
        KernelArguments.Interior(inHeight, outHeight, stride, out int y0, out int y1);
        KernelArguments.Interior(inWidth, outWidth, stride, out int x0, out int x1);

        // Vector512, stride 1: pairs of output rows, the top and bottom rows included (their missing input row is a row of
        // zeros); only the first and last column take the border path.
        if (typeof(T) == typeof(Block16Vector512) && stride == 1 && x1 - x0 >= 4 && outHeight == inHeight)
        {
            float* zeros = DepthwiseZeroRow.Get((nint)inWidth * cp);
            nint outRowStride = (nint)outWidth * cp;
            for (int oy = oyBegin; oy < oyEnd; oy += 2)
            {
                int rows = Math.Min(2, oyEnd - oy);
                for (int r = 0; r < rows; r++)
                {
                    float* row = output + ((oy + r) * outRowStride);
                    for (int ox = 0; ox < x0; ox++)
                    {
                        DepthwiseBorderBlock16.Pixel<T>(input, inHeight, inWidth, cp, weights, bias, row + ((nint)ox * cp), blocks, oy + r, ox, stride, relu);
                    }

                    for (int ox = x1; ox < outWidth; ox++)
                    {
                        DepthwiseBorderBlock16.Pixel<T>(input, inHeight, inWidth, cp, weights, bias, row + ((nint)ox * cp), blocks, oy + r, ox, stride, relu);
                    }
                }

                nint column = (nint)(x0 - 1) * cp;
                Depthwise4x16Block16.TwoRows<T>(
                    InputRow(input, oy - 1, inHeight, rowStride, column, zeros),
                    InputRow(input, oy, inHeight, rowStride, column, zeros),
                    InputRow(input, oy + 1, inHeight, rowStride, column, zeros),
                    InputRow(input, oy + 2, inHeight, rowStride, column, zeros),
                    rows, output + (oy * outRowStride) + ((nint)x0 * cp), outRowStride, x1 - x0, cp, blocks, weights, bias, relu);
            }

            return;
        }

        for (int oy = oyBegin; oy < oyEnd; oy++)
        {
            float* outRow = output + ((nint)oy * outWidth * cp);
            if (oy < y0 || oy >= y1)
            {
                for (int ox = 0; ox < outWidth; ox++)
                {
                    DepthwiseBorderBlock16.Pixel<T>(input, inHeight, inWidth, cp, weights, bias, outRow + ((nint)ox * cp), blocks, oy, ox, stride, relu);
                }

                continue;
            }

            for (int ox = 0; ox < x0; ox++)
            {
                DepthwiseBorderBlock16.Pixel<T>(input, inHeight, inWidth, cp, weights, bias, outRow + ((nint)ox * cp), blocks, oy, ox, stride, relu);
            }

            for (int ox = x1; ox < outWidth; ox++)
            {
                DepthwiseBorderBlock16.Pixel<T>(input, inHeight, inWidth, cp, weights, bias, outRow + ((nint)ox * cp), blocks, oy, ox, stride, relu);
            }

            if (x0 >= x1)
            {
                continue;
            }

            // Tap (0, 0) of the first interior column: input (oy*stride-1, x0*stride-1).
            float* inStart = input + ((((nint)((oy * stride) - 1) * inWidth) + ((x0 * stride) - 1)) * cp);
            Depthwise4x16Block16.Row<T>(inStart, outRow + ((nint)x0 * cp), x1 - x0, cp, blocks, rowStride, step, stride, weights, bias, relu);
        }
    }

    /// <summary>Input row <paramref name="iy"/> at <paramref name="column"/> floats, or the zero row outside the image.</summary>
    private static float* InputRow(float* input, int iy, int inHeight, nint rowStride, nint column, float* zeros) =>
        (uint)iy < (uint)inHeight ? input + (iy * rowStride) + column : zeros;
}
