using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The driver of <see cref="DepthwiseConv3x3"/> at every level (<see cref="KernelTable.DepthwiseRows"/>): for each output
/// row of a part, the border pixels go to <see cref="DepthwiseBorderBlock16"/> and the interior columns, whose nine taps
/// all lie inside the input, to <see cref="Depthwise4x16Block16"/> (at Vector512 and stride 1, two interior rows at a
/// time: <see cref="Depthwise4x16Block16.TwoRows{T}"/>).
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

            // Two interior rows at once (Vector512, stride 1): each input row loaded once for both.
            bool two = typeof(T) == typeof(Block16Vector512) && stride == 1 && oy + 1 < y1 && oy + 1 < oyEnd && x1 - x0 >= 4;
            for (int r = 0; r < (two ? 2 : 1); r++)
            {
                float* row = outRow + ((nint)r * outWidth * cp);
                for (int ox = 0; ox < x0; ox++)
                {
                    DepthwiseBorderBlock16.Pixel<T>(input, inHeight, inWidth, cp, weights, bias, row + ((nint)ox * cp), blocks, oy + r, ox, stride, relu);
                }

                for (int ox = x1; ox < outWidth; ox++)
                {
                    DepthwiseBorderBlock16.Pixel<T>(input, inHeight, inWidth, cp, weights, bias, row + ((nint)ox * cp), blocks, oy + r, ox, stride, relu);
                }
            }

            if (x0 >= x1)
            {
                continue;
            }

            // Tap (0, 0) of the first interior column: input (oy*stride-1, x0*stride-1).
            float* inStart = input + ((((nint)((oy * stride) - 1) * inWidth) + ((x0 * stride) - 1)) * cp);
            if (two)
            {
                Depthwise4x16Block16.TwoRows<T>(inStart, outRow + ((nint)x0 * cp), (nint)outWidth * cp, x1 - x0, cp, blocks, rowStride, weights, bias, relu);
                oy++;
            }
            else
            {
                Depthwise4x16Block16.Row<T>(inStart, outRow + ((nint)x0 * cp), x1 - x0, cp, blocks, rowStride, step, stride, weights, bias, relu);
            }
        }
    }
}
