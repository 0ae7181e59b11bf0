using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The driver of <see cref="StemConv3x3"/> at every level (<see cref="KernelTable.StemRows"/>): for each output row of a
/// part, the border pixels go to <see cref="StemBorderBlock16"/>; the interior columns to <see cref="Stem8x32Block16"/>
/// (Vector512, pairs of blocks) and <see cref="Stem4x16Block16"/> (the rest).
/// </summary>
internal static unsafe class StemBlock16
{
    /// <summary>Computes output rows [<paramref name="oyBegin"/>, <paramref name="oyEnd"/>).</summary>
    /// <typeparam name="T">The level's 16-float block.</typeparam>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Rows<T>(
        float* input, int inChannels, int inHeight, int inWidth,
        float* weights, float* bias, float* output, int cp,
        int outHeight, int outWidth, int stride, bool relu, int oyBegin, int oyEnd)
        where T : struct, IBlock16<T>
    {
        int blocks = cp / 16;
        int plane = inHeight * inWidth;
        int blockWeights = inChannels * 9 * 16;
        KernelArguments.Interior(inHeight, outHeight, stride, out int y0, out int y1);
        KernelArguments.Interior(inWidth, outWidth, stride, out int x0, out int x1);

        for (int oy = oyBegin; oy < oyEnd; oy++)
        {
            float* outRow = output + ((nint)oy * outWidth * cp);
            if (oy < y0 || oy >= y1)
            {
                for (int ox = 0; ox < outWidth; ox++)
                {
                    StemBorderBlock16.Pixel<T>(input, inChannels, inHeight, inWidth, weights, bias, outRow + ((nint)ox * cp), blocks, oy, ox, stride, relu);
                }

                continue;
            }

            for (int ox = 0; ox < x0; ox++)
            {
                StemBorderBlock16.Pixel<T>(input, inChannels, inHeight, inWidth, weights, bias, outRow + ((nint)ox * cp), blocks, oy, ox, stride, relu);
            }

            for (int ox = x1; ox < outWidth; ox++)
            {
                StemBorderBlock16.Pixel<T>(input, inChannels, inHeight, inWidth, weights, bias, outRow + ((nint)ox * cp), blocks, oy, ox, stride, relu);
            }

            // Top-left tap of output column 0 (column -1 of row oy*stride-1); interior columns never touch it.
            float* inRow = input + ((nint)((oy * stride) - 1) * inWidth) - 1;
            int s = stride;

            // Vector512: 8 pixels x 32 channels per tile (16 zmm accumulators), over pairs of blocks, and 8 pixels x 48
            // channels for the last three blocks of an odd count (S0's 48 channels); the columns left over, and a single
            // block, take the 4-pixel tiles (Stem4x16).
            int tiledBlocks = 0, tiledEnd = x0;
            if (typeof(T) == typeof(Block16Vector512) && x1 - x0 >= 8 && blocks >= 2)
            {
                tiledBlocks = blocks;
                tiledEnd = x0 + (((x1 - x0) / 8) * 8);
                int pairedBlocks = (blocks & 1) == 0 ? blocks : blocks - 3;
                for (int b = 0; b < pairedBlocks; b += 2)
                {
                    Stem8x32Block16.Run<T>(inRow, inChannels, plane, inWidth, s, weights + ((nint)b * blockWeights), blockWeights, bias + (b * 16), outRow + (b * 16), cp, x0, tiledEnd, relu);
                }

                if (pairedBlocks < blocks)
                {
                    int b = pairedBlocks;
                    Stem8x48Block16.Run<T>(inRow, inChannels, plane, inWidth, s, weights + ((nint)b * blockWeights), blockWeights, bias + (b * 16), outRow + (b * 16), cp, x0, tiledEnd, relu);
                }
            }

            for (int b = 0; b < blocks; b++)
            {
                Stem4x16Block16.Run<T>(inRow, inChannels, plane, inWidth, s, weights + ((nint)b * blockWeights), bias + (b * 16), outRow + (b * 16), cp, b < tiledBlocks ? tiledEnd : x0, x1, relu);
            }
        }
    }
}
