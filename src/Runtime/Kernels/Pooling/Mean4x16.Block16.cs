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
        for (int b = 0; b < blocks; b++)
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
