using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The driver of <see cref="DepthwiseConv3x3"/> at every level (<see cref="KernelTable.DepthwiseRows"/>): for each output
/// row of a part, the border pixels go to <see cref="DepthwiseBorderBlock16"/> and the interior columns, whose nine taps
/// all lie inside the input, to <see cref="Depthwise4x16Block16"/>.
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
}
