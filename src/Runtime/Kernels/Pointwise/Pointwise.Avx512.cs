using System;
using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The Vector512 driver of <see cref="PointwiseConv"/> (<see cref="KernelTable.PointwiseGemm"/> at
/// <see cref="SimdLevel.Vector512"/>): pixels in L2-sized chunks; per chunk, each 32-channel weight panel is swept over
/// 8-pixel tiles (<see cref="Gemm8x32Avx512"/>: 16 zmm accumulators, one embedded-broadcast FMA per activation and weight
/// vector); an odd last block takes <see cref="Gemm8x16Avx512"/>, the last 1-7 pixels the same tiles on fewer rows.
/// </summary>
internal static unsafe class PointwiseAvx512
{
    /// <summary>Pixels per tile.</summary>
    private const int TilePixels = 8;

    /// <summary>The GEMM on <paramref name="pixels"/> rows and <paramref name="blocks"/> blocks of 16 output channels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Compute(
        float* input, int pixels, int cin, int cinP,
        float* weights, float* bias, float* output, int outStride, int blocks, bool relu)
    {
        nint panel = (nint)cin * 16;
        int chunk = Math.Max(TilePixels, (PointwiseConv.ChunkFloats / cinP) / TilePixels * TilePixels);
        for (int p0 = 0; p0 < pixels; p0 += chunk)
        {
            int rows = Math.Min(chunk, pixels - p0);
            float* a = input + ((nint)p0 * cinP);
            float* o = output + ((nint)p0 * outStride);
            int full = rows / TilePixels * TilePixels;
            int tail = rows - full;
            int b = 0;
            for (; b + 2 <= blocks; b += 2)
            {
                float* w = weights + (b * panel);
                float* bb = bias + (b * 16);
                for (int r = 0; r < full; r += TilePixels)
                {
                    Gemm8x32Avx512.Run<Rows8>(a + ((nint)r * cinP), cinP, cin, w, panel, bb, o + ((nint)r * outStride) + (b * 16), outStride, relu);
                }

                if (tail > 0)
                {
                    Tail32(tail, a + ((nint)full * cinP), cinP, cin, w, panel, bb, o + ((nint)full * outStride) + (b * 16), outStride, relu);
                }
            }

            if (b < blocks)
            {
                float* w = weights + (b * panel);
                float* bb = bias + (b * 16);
                for (int r = 0; r < full; r += TilePixels)
                {
                    Gemm8x16Avx512.Run<Rows8>(a + ((nint)r * cinP), cinP, cin, w, bb, o + ((nint)r * outStride) + (b * 16), outStride, relu);
                }

                if (tail > 0)
                {
                    Tail16(tail, a + ((nint)full * cinP), cinP, cin, w, bb, o + ((nint)full * outStride) + (b * 16), outStride, relu);
                }
            }
        }
    }

    /// <summary>The last 1-7 pixels of a chunk x 32 output channels.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Tail32(int rows, float* a, nint cinP, int cin, float* w, nint panel, float* bias, float* o, nint outStride, bool relu)
    {
        switch (rows)
        {
            case 1: Gemm8x32Avx512.Run<Rows1>(a, cinP, cin, w, panel, bias, o, outStride, relu); break;
            case 2: Gemm8x32Avx512.Run<Rows2>(a, cinP, cin, w, panel, bias, o, outStride, relu); break;
            case 3: Gemm8x32Avx512.Run<Rows3>(a, cinP, cin, w, panel, bias, o, outStride, relu); break;
            case 4: Gemm8x32Avx512.Run<Rows4>(a, cinP, cin, w, panel, bias, o, outStride, relu); break;
            case 5: Gemm8x32Avx512.Run<Rows5>(a, cinP, cin, w, panel, bias, o, outStride, relu); break;
            case 6: Gemm8x32Avx512.Run<Rows6>(a, cinP, cin, w, panel, bias, o, outStride, relu); break;
            default: Gemm8x32Avx512.Run<Rows7>(a, cinP, cin, w, panel, bias, o, outStride, relu); break;
        }
    }

    /// <summary>The last 1-7 pixels of a chunk x 16 output channels (an odd last block).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Tail16(int rows, float* a, nint cinP, int cin, float* w, float* bias, float* o, nint outStride, bool relu)
    {
        switch (rows)
        {
            case 1: Gemm8x16Avx512.Run<Rows1>(a, cinP, cin, w, bias, o, outStride, relu); break;
            case 2: Gemm8x16Avx512.Run<Rows2>(a, cinP, cin, w, bias, o, outStride, relu); break;
            case 3: Gemm8x16Avx512.Run<Rows3>(a, cinP, cin, w, bias, o, outStride, relu); break;
            case 4: Gemm8x16Avx512.Run<Rows4>(a, cinP, cin, w, bias, o, outStride, relu); break;
            case 5: Gemm8x16Avx512.Run<Rows5>(a, cinP, cin, w, bias, o, outStride, relu); break;
            case 6: Gemm8x16Avx512.Run<Rows6>(a, cinP, cin, w, bias, o, outStride, relu); break;
            default: Gemm8x16Avx512.Run<Rows7>(a, cinP, cin, w, bias, o, outStride, relu); break;
        }
    }
}
