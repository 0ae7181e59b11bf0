using System;
using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The Vector256 / Vector128 / Scalar driver of <see cref="PointwiseConv"/> (<see cref="KernelTable.PointwiseGemm"/>):
/// pixels in L2-sized chunks; per chunk, each 32-channel weight panel is swept over 4-pixel tiles
/// (<see cref="Gemm4x32Block16"/>), the last 1-3 pixels one at a time (<see cref="Gemm1x32Block16"/>); an odd last block
/// takes <see cref="Gemm4x16Block16"/> and <see cref="Gemm1x16Block16"/>.
/// </summary>
internal static unsafe class PointwiseBlock16
{
    /// <summary>The GEMM on <paramref name="pixels"/> rows and <paramref name="blocks"/> blocks of 16 output channels.</summary>
    /// <typeparam name="T">The level's 16-float block.</typeparam>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Compute<T>(
        float* input, int pixels, int cin, int cinP,
        float* weights, float* bias, float* output, int coutP, int blocks, bool relu)
        where T : struct, IBlock16<T>
    {
        nint panel = (nint)cin * 16;
        int chunk = Math.Max(4, (PointwiseConv.CacheChunkFloats / cinP) & ~3);
        for (int p0 = 0; p0 < pixels; p0 += chunk)
        {
            int rows = Math.Min(chunk, pixels - p0);
            float* a = input + ((nint)p0 * cinP);
            float* o = output + ((nint)p0 * coutP);
            int b = 0;
            for (; b + 2 <= blocks; b += 2)
            {
                float* w = weights + (b * panel);
                int r = 0;
                for (; r + 4 <= rows; r += 4)
                {
                    Gemm4x32Block16.Run<T>(a + ((nint)r * cinP), cinP, cin, w, panel, bias + (b * 16), o + ((nint)r * coutP) + (b * 16), coutP, relu);
                }

                for (; r < rows; r++)
                {
                    Gemm1x32Block16.Run<T>(a + ((nint)r * cinP), cin, w, panel, bias + (b * 16), o + ((nint)r * coutP) + (b * 16), relu);
                }
            }

            if (b < blocks)
            {
                float* w = weights + (b * panel);
                int r = 0;
                for (; r + 4 <= rows; r += 4)
                {
                    Gemm4x16Block16.Run<T>(a + ((nint)r * cinP), cinP, cin, w, bias + (b * 16), o + ((nint)r * coutP) + (b * 16), coutP, relu);
                }

                for (; r < rows; r++)
                {
                    Gemm1x16Block16.Run<T>(a + ((nint)r * cinP), cin, w, bias + (b * 16), o + ((nint)r * coutP) + (b * 16), relu);
                }
            }
        }
    }
}
