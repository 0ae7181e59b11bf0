using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>
/// The micro-kernel of <see cref="GlobalAvgPool"/> at every level (<see cref="KernelTable.Mean"/>), also the squeeze of
/// <see cref="SqueezeExciteBlock16"/>: per 16-channel block, 4 pixels x 16 channels summed per step into four
/// accumulators, the pixels left over one at a time, then scaled by <c>1 / pixels</c>.
/// </summary>
internal static unsafe class Mean4x16Block16
{
    /// <summary>Writes the per-channel mean over <paramref name="pixels"/> pixels.</summary>
    /// <typeparam name="T">The level's 16-float block.</typeparam>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Run<T>(float* input, int pixels, int cp, float* output)
        where T : struct, IBlock16<T>
    {
        int blocks = cp / 16;
        T scale = T.Broadcast(1f / pixels);
        nint step = (nint)cp * 4;
        int b = 0;

        // Vector512: four blocks at a time (16 accumulators), so that each pixel's 256 bytes are read together; one block
        // at a time, a wide layer's loads are cp * 4 bytes apart and fall into a few L1 sets (896 channels: 3.5 KB, 8 sets).
        // Each block's four chains and their sum are the same as below, so the result is identical.
        if (typeof(T) == typeof(Block16Vector512))
        {
            for (; b + 4 <= blocks; b += 4)
            {
                float* p = input + (b * 16);
                T s00 = T.Zero, s01 = T.Zero, s02 = T.Zero, s03 = T.Zero;
                T s10 = T.Zero, s11 = T.Zero, s12 = T.Zero, s13 = T.Zero;
                T s20 = T.Zero, s21 = T.Zero, s22 = T.Zero, s23 = T.Zero;
                T s30 = T.Zero, s31 = T.Zero, s32 = T.Zero, s33 = T.Zero;
                int i = 0;
                for (; i + 4 <= pixels; i += 4)
                {
                    s00 = T.Add(s00, T.Load(p));
                    s10 = T.Add(s10, T.Load(p + 16));
                    s20 = T.Add(s20, T.Load(p + 32));
                    s30 = T.Add(s30, T.Load(p + 48));
                    s01 = T.Add(s01, T.Load(p + cp));
                    s11 = T.Add(s11, T.Load(p + cp + 16));
                    s21 = T.Add(s21, T.Load(p + cp + 32));
                    s31 = T.Add(s31, T.Load(p + cp + 48));
                    s02 = T.Add(s02, T.Load(p + (2 * cp)));
                    s12 = T.Add(s12, T.Load(p + (2 * cp) + 16));
                    s22 = T.Add(s22, T.Load(p + (2 * cp) + 32));
                    s32 = T.Add(s32, T.Load(p + (2 * cp) + 48));
                    s03 = T.Add(s03, T.Load(p + (3 * cp)));
                    s13 = T.Add(s13, T.Load(p + (3 * cp) + 16));
                    s23 = T.Add(s23, T.Load(p + (3 * cp) + 32));
                    s33 = T.Add(s33, T.Load(p + (3 * cp) + 48));
                    p += step;
                }

                for (; i < pixels; i++)
                {
                    s00 = T.Add(s00, T.Load(p));
                    s10 = T.Add(s10, T.Load(p + 16));
                    s20 = T.Add(s20, T.Load(p + 32));
                    s30 = T.Add(s30, T.Load(p + 48));
                    p += cp;
                }

                float* o = output + (b * 16);
                T.Store(o, T.Multiply(T.Add(T.Add(s00, s01), T.Add(s02, s03)), scale));
                T.Store(o + 16, T.Multiply(T.Add(T.Add(s10, s11), T.Add(s12, s13)), scale));
                T.Store(o + 32, T.Multiply(T.Add(T.Add(s20, s21), T.Add(s22, s23)), scale));
                T.Store(o + 48, T.Multiply(T.Add(T.Add(s30, s31), T.Add(s32, s33)), scale));
            }
        }

        for (; b < blocks; b++)
        {
            float* p = input + (b * 16);
            T s0 = T.Zero, s1 = T.Zero, s2 = T.Zero, s3 = T.Zero;
            int i = 0;
            for (; i + 4 <= pixels; i += 4)
            {
                s0 = T.Add(s0, T.Load(p));
                s1 = T.Add(s1, T.Load(p + cp));
                s2 = T.Add(s2, T.Load(p + (2 * cp)));
                s3 = T.Add(s3, T.Load(p + (3 * cp)));
                p += step;
            }

            for (; i < pixels; i++)
            {
                s0 = T.Add(s0, T.Load(p));
                p += cp;
            }

            T.Store(output + (b * 16), T.Multiply(T.Add(T.Add(s0, s1), T.Add(s2, s3)), scale));
        }
    }
}
