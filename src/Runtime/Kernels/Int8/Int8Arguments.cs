using System;

namespace MobileOne.Runtime;

/// <summary>Length checks of the INT8 kernels' spans (bytes, ints and floats), as <see cref="KernelArguments"/> does for floats.</summary>
internal static class Int8Arguments
{
    /// <summary>Throws unless <paramref name="span"/> holds at least <paramref name="required"/> elements.</summary>
    public static void Length<T>(ReadOnlySpan<T> span, long required, string name)
    {
        if (span.Length < required)
        {
            throw new ArgumentException($"Expected at least {required} {Unit<T>()}, got {span.Length}.", name);
        }
    }

    /// <summary>Throws unless <paramref name="span"/> holds exactly <paramref name="required"/> elements.</summary>
    public static void ExactLength<T>(ReadOnlySpan<T> span, long required, string name)
    {
        if (span.Length != required)
        {
            throw new ArgumentException($"Expected exactly {required} {Unit<T>()}, got {span.Length}.", name);
        }
    }

    private static string Unit<T>() =>
        typeof(T) == typeof(float) ? "floats" : typeof(T) == typeof(int) ? "ints" : "bytes";
}
