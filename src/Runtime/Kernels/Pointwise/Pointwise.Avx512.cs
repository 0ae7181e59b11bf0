using System;
using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The Vector512 driver of <see cref="PointwiseConv"/> (<see cref="KernelTable.PointwiseGemm"/> at
/// <see cref="SimdLevel.Vector512"/>): pixels in chunks sized from the L2 cache (<see cref="PointwiseConv.CacheChunkFloats"/>),
/// split evenly; per chunk, each 32-channel weight panel pair is swept over the chunk's tiles of up to 14 pixels
/// (<see cref="Gemm14x32Avx512"/>, 28 zmm accumulators; up to 8 pixels when <c>cin</c> is below
/// <see cref="DeepTileMinChannels"/>), the tiles of a chunk balanced to sizes differing by at most one (49 pixels are
/// 13+12+12+12, not 14+14+14+7). While the first two tiles of a panel pair run, they prefetch the next pair into L2, so
/// that the next pair's first tile does not wait on L3. An odd last 16-channel block takes <see cref="Gemm8x16Avx512"/>.
/// </summary>
/// <remarks>
/// Measured on an Intel Xeon (Emerald Rapids, two 512-bit FMA ports), kernel alone on S1's shapes with cold weights
/// (a new copy of the weights each call): the 8-pixel tile without prefetch ran 196 px 512->512 at 145-152 GFLOP/s
/// and 49 px 512->1280 at 140-143 (the weights of each panel pair came from L3 for the first tile), this driver at
/// 160-164 for both (92-93 % of the 175 GFLOP/s peak); with warm weights both run at 168-172. See docs/performance.md.
/// </remarks>
internal static unsafe class PointwiseAvx512
{
    /// <summary>
    /// Input channels from which the 14-pixel tile is used; below, 8-pixel tiles (measured 1-3 % faster on the
    /// 3136-pixel layers with 64 and 96 input channels, the same elsewhere).
    /// </summary>
    internal const int DeepTileMinChannels = 128;

    /// <summary>The GEMM on <paramref name="pixels"/> rows and <paramref name="blocks"/> blocks of 16 output channels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Compute(
        float* input, int pixels, int cin, int cinP,
        float* weights, float* bias, float* output, int outStride, int blocks, bool relu)
    {
        if (cin >= DeepTileMinChannels)
        {
            Sweep<Rows14>(input, pixels, cin, cinP, weights, bias, output, outStride, blocks, relu);
        }
        else
        {
            Sweep<Rows8>(input, pixels, cin, cinP, weights, bias, output, outStride, blocks, relu);
        }
    }

    /// <summary>Sweeps the range with tiles of up to <c>T.Count</c> pixels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Sweep<T>(
        float* input, int pixels, int cin, int cinP,
        float* weights, float* bias, float* output, int outStride, int blocks, bool relu)
        where T : struct, IRowCount
    {
        nint panel = (nint)cin * 16;
        // One chunk when the weights cannot stay in L2 between chunks (more than half of it) but the whole input can
        // (at most half): each chunk would stream the weights from L3 again. Otherwise chunks of CacheChunkFloats.
        long inputFloats = (long)pixels * cinP;
        long l2Floats = CpuCaches.Current.L2Bytes / sizeof(float);
        int chunks = 2L * cin * blocks * 16 > l2Floats && 2 * inputFloats <= l2Floats
            ? 1
            : Math.Max(1, (int)(inputFloats / Math.Max(PointwiseConv.CacheChunkFloats, cinP * T.Count)));
        int chunk = (pixels + chunks - 1) / chunks;
        for (int p0 = 0; p0 < pixels; p0 += chunk)
        {
            int rows = Math.Min(chunk, pixels - p0);
            float* a = input + ((nint)p0 * cinP);
            float* o = output + ((nint)p0 * outStride);
            int tiles = (rows + T.Count - 1) / T.Count;
            int b = 0;
            for (; b + 2 <= blocks; b += 2)
            {
                float* w = weights + (b * panel);
                float* bb = bias + (b * 16);

                // The next pair's two panels, one per tile for the first two tiles (cin cache lines each); the other
                // tiles (and a missing next panel) prefetch their own weights again, which are in L1 or L2.
                float* next0 = b + 2 < blocks ? weights + ((b + 2) * panel) : w;
                float* next1 = b + 3 < blocks ? weights + ((b + 3) * panel) : w;
                int r0 = 0;
                for (int t = 0; t < tiles; t++)
                {
                    int r1 = (int)((long)rows * (t + 1) / tiles);
                    float* pf = t == 0 ? next0 : t == 1 ? next1 : w;
                    Tile32(r1 - r0, a + ((nint)r0 * cinP), cinP, cin, w, panel, bb, o + ((nint)r0 * outStride) + (b * 16), outStride, relu, pf);
                    r0 = r1;
                }
            }

            if (b < blocks)
            {
                float* w = weights + (b * panel);
                float* bb = bias + (b * 16);
                int full = rows / 8 * 8;
                for (int r = 0; r < full; r += 8)
                {
                    Gemm8x16Avx512.Run<Rows8>(a + ((nint)r * cinP), cinP, cin, w, bb, o + ((nint)r * outStride) + (b * 16), outStride, relu);
                }

                if (rows > full)
                {
                    Tail16(rows - full, a + ((nint)full * cinP), cinP, cin, w, bb, o + ((nint)full * outStride) + (b * 16), outStride, relu);
                }
            }
        }
    }

    /// <summary>One tile of 1-14 pixels x 32 output channels.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Tile32(int rows, float* a, nint cinP, int cin, float* w, nint panel, float* bias, float* o, nint outStride, bool relu, float* pf)
    {
        switch (rows)
        {
            case 14: Gemm14x32Avx512.Run<Rows14>(a, cinP, cin, w, panel, bias, o, outStride, relu, pf); break;
            case 13: Gemm14x32Avx512.Run<Rows13>(a, cinP, cin, w, panel, bias, o, outStride, relu, pf); break;
            case 12: Gemm14x32Avx512.Run<Rows12>(a, cinP, cin, w, panel, bias, o, outStride, relu, pf); break;
            case 11: Gemm14x32Avx512.Run<Rows11>(a, cinP, cin, w, panel, bias, o, outStride, relu, pf); break;
            case 10: Gemm14x32Avx512.Run<Rows10>(a, cinP, cin, w, panel, bias, o, outStride, relu, pf); break;
            case 9: Gemm14x32Avx512.Run<Rows9>(a, cinP, cin, w, panel, bias, o, outStride, relu, pf); break;
            case 8: Gemm14x32Avx512.Run<Rows8>(a, cinP, cin, w, panel, bias, o, outStride, relu, pf); break;
            case 7: Gemm14x32Avx512.Run<Rows7>(a, cinP, cin, w, panel, bias, o, outStride, relu, pf); break;
            case 6: Gemm14x32Avx512.Run<Rows6>(a, cinP, cin, w, panel, bias, o, outStride, relu, pf); break;
            case 5: Gemm14x32Avx512.Run<Rows5>(a, cinP, cin, w, panel, bias, o, outStride, relu, pf); break;
            case 4: Gemm14x32Avx512.Run<Rows4>(a, cinP, cin, w, panel, bias, o, outStride, relu, pf); break;
            case 3: Gemm14x32Avx512.Run<Rows3>(a, cinP, cin, w, panel, bias, o, outStride, relu, pf); break;
            case 2: Gemm14x32Avx512.Run<Rows2>(a, cinP, cin, w, panel, bias, o, outStride, relu, pf); break;
            default: Gemm14x32Avx512.Run<Rows1>(a, cinP, cin, w, panel, bias, o, outStride, relu, pf); break;
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
