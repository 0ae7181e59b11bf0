using System;
using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The driver of <see cref="PointwiseConvInt8"/> for the SIMD instruction sets: pixels in L2-sized chunks; per chunk,
/// each weight panel of <c>TTile.Blocks</c> x 16 output channels (which stays in L1) is swept over the chunk's tiles of
/// <c>TTile.Pixels</c> rows; the last rows and blocks take the same tile specialised on fewer.
/// </summary>
internal static unsafe class PointwiseInt8Sweep
{
    /// <summary>
    /// Bytes of input rows to keep cache-resident (L2) while sweeping all weight panels: the FP32 driver's 192 KB
    /// (<see cref="PointwiseConv.ChunkFloats"/>); 16 KB to 768 KB measured the same within noise on the S1 shapes.
    /// </summary>
    internal const int ChunkBytes = 192 * 1024;

    /// <summary>The GEMM on <paramref name="pixels"/> rows and <paramref name="blocks"/> blocks of 16 output channels.</summary>
    /// <typeparam name="TTile">The instruction set's register tile.</typeparam>
    /// <typeparam name="TOut">Requantized bytes or dequantized floats.</typeparam>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Compute<TTile, TOut>(
        byte* input, int pixels, int cin, int cinP, sbyte* weights, int* bias, float* scale, byte* output, int outStride, int blocks)
        where TTile : struct, IInt8GemmTile
        where TOut : struct, IInt8Output
    {
        int steps = (cin + 3) / 4;
        nint panel = (nint)cinP * 16;
        nint outRow = (nint)outStride * TOut.ElementSize;
        int tilePixels = TTile.Pixels;
        int tileBlocks = TTile.Blocks;
        int chunk = Math.Max(tilePixels, ChunkBytes / cinP / tilePixels * tilePixels);
        for (int p0 = 0; p0 < pixels; p0 += chunk)
        {
            int rows = Math.Min(chunk, pixels - p0);
            byte* a = input + ((nint)p0 * cinP);
            byte* o = output + (p0 * outRow);
            for (int b = 0; b < blocks; b += tileBlocks)
            {
                int n = Math.Min(tileBlocks, blocks - b);
                sbyte* w = weights + (b * panel);
                byte* ob = o + (b * 16 * TOut.ElementSize);
                for (int r = 0; r < rows; r += tilePixels)
                {
                    TTile.Run<TOut>(Math.Min(tilePixels, rows - r), n, a + ((nint)r * cinP), cinP, steps, w, panel, bias + (b * 16), scale + (b * 16), ob + (r * outRow), outRow);
                }
            }
        }
    }
}
