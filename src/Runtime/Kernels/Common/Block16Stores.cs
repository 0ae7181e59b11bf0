using System.Runtime.CompilerServices;

namespace MobileOne.Runtime;

/// <summary>Epilogues the Block16 micro-kernels share.</summary>
internal static unsafe class Block16Stores
{
    /// <summary>Stores four adjacent output pixels of one channel block (<paramref name="cp"/> floats apart), ReLU optional.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Four<T>(float* o, int cp, T a0, T a1, T a2, T a3, bool relu)
        where T : struct, IBlock16<T>
    {
        if (relu)
        {
            a0 = T.ReluMax(a0);
            a1 = T.ReluMax(a1);
            a2 = T.ReluMax(a2);
            a3 = T.ReluMax(a3);
        }

        T.Store(o, a0);
        T.Store(o + cp, a1);
        T.Store(o + (2 * cp), a2);
        T.Store(o + (3 * cp), a3);
    }
}
