using System;
using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The per-channel pixel sum of <see cref="GlobalAvgPoolInt8"/>: 4 pixels x 16 channels per step into four float
/// accumulators, exact because a chunk of at most <see cref="ChunkPixels"/> pixels sums to below 2^24; the chunks add up
/// in int64, and <c>(float)sum * k</c> is written.
/// </summary>
internal static unsafe class SumBytes4x16Block16
{
    /// <summary>Pixels per exact float chunk: 65,536 x 255 = 16,711,680 &lt; 2^24.</summary>
    internal const int ChunkPixels = 65536;

    /// <summary>Writes <c>(float)sum[c] * k</c> for every channel of <paramref name="cp"/>.</summary>
    /// <typeparam name="T">The level's block.</typeparam>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Run<T>(byte* input, int pixels, int cp, float k, float* output)
        where T : struct, IInt8Block16<T>
    {
        float* partial = stackalloc float[16];
        long* total = stackalloc long[16];
        for (int c = 0; c < cp; c += 16)
        {
            new Span<long>(total, 16).Clear();
            for (int p0 = 0; p0 < pixels; p0 += ChunkPixels)
            {
                int p1 = Math.Min(pixels, p0 + ChunkPixels);
                T s0 = T.Zero, s1 = T.Zero, s2 = T.Zero, s3 = T.Zero;
                byte* x = input + ((nint)p0 * cp) + c;
                int p = p0;
                for (; p + 4 <= p1; p += 4)
                {
                    s0 = T.Add(s0, T.LoadBytes(x));
                    s1 = T.Add(s1, T.LoadBytes(x + cp));
                    s2 = T.Add(s2, T.LoadBytes(x + (2 * cp)));
                    s3 = T.Add(s3, T.LoadBytes(x + (3 * cp)));
                    x += 4 * cp;
                }

                for (; p < p1; p++)
                {
                    s0 = T.Add(s0, T.LoadBytes(x));
                    x += cp;
                }

                T.Store(partial, T.Add(T.Add(s0, s1), T.Add(s2, s3)));
                for (int i = 0; i < 16; i++)
                {
                    total[i] += (long)partial[i];
                }
            }

            for (int i = 0; i < 16; i++)
            {
                output[c + i] = total[i] * k;
            }
        }
    }
}
