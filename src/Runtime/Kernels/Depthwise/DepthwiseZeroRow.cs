using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace MobileOne.Runtime;

/// <summary>
/// A process-wide, read-only row of zeros that <see cref="Depthwise4x16Block16.TwoRows{T}"/> reads in place of the input
/// row above or below the image (zero padding). It only grows (to the widest row asked for, 64-byte aligned, allocated
/// once per size and never freed, since a thread may still read an older, smaller one), so a call allocates nothing
/// after the first inference of a network.
/// </summary>
internal static unsafe class DepthwiseZeroRow
{
    private static readonly object s_lock = new();
    private static nint s_zeros;
    private static long s_floats;

    /// <summary>Returns at least <paramref name="floats"/> zeros.</summary>
    internal static float* Get(nint floats)
    {
        // The pointer is published before the size, so a size read here is never larger than the buffer read after it.
        if (Volatile.Read(ref s_floats) >= floats)
        {
            return (float*)Volatile.Read(ref s_zeros);
        }

        lock (s_lock)
        {
            if (s_floats < floats)
            {
                long size = Math.Max(floats, 16 * 1024);
                float* zeros = (float*)NativeMemory.AlignedAlloc((nuint)(size * sizeof(float)), 64);
                NativeMemory.Clear(zeros, (nuint)(size * sizeof(float)));
                Volatile.Write(ref s_zeros, (nint)zeros);
                Volatile.Write(ref s_floats, size);
            }

            return (float*)s_zeros;
        }
    }
}
