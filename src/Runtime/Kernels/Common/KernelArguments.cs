using System;

namespace MobileOne.Runtime;

/// <summary>Shared argument checks and 3x3 / pad 1 geometry for the kernels.</summary>
internal static class KernelArguments
{
    /// <summary>Throws unless <paramref name="value"/> is at least 1.</summary>
    public static void Positive(int value, string name)
    {
        if (value < 1)
        {
            throw new ArgumentOutOfRangeException(name, value, "Must be at least 1.");
        }
    }

    /// <summary>Throws unless <paramref name="span"/> holds at least <paramref name="required"/> elements (floats, ints or bytes).</summary>
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

    /// <summary>Throws unless <paramref name="padded"/> is a positive multiple of 16 not below <paramref name="channels"/>.</summary>
    public static void Padded(int padded, int channels, string name)
    {
        if (padded < 16 || (padded & 15) != 0 || padded < channels)
        {
            throw new ArgumentOutOfRangeException(
                name, padded, $"Padded channel count must be a positive multiple of 16 and at least {channels}.");
        }
    }

    /// <summary>Throws unless the output size is <c>(in + 2 - 3) / stride + 1</c> for a 3x3, pad 1 convolution.</summary>
    public static void ConvOutput(int inSize, int outSize, int stride, string name)
    {
        int expected = ((inSize - 1) / stride) + 1;
        if (outSize != expected)
        {
            throw new ArgumentOutOfRangeException(
                name, outSize, $"A 3x3, pad 1, stride {stride} convolution of size {inSize} has output size {expected}.");
        }
    }

    /// <summary>
    /// Output indices <c>[lo, hi)</c> along one axis whose three taps (<c>o * stride - 1 .. o * stride + 1</c>) all
    /// lie inside the input; the rest need the bounds-checked border path.
    /// </summary>
    public static void Interior(int inSize, int outSize, int stride, out int lo, out int hi)
    {
        lo = Math.Min(1, outSize);
        hi = inSize >= 2 ? Math.Min(outSize, ((inSize - 2) / stride) + 1) : lo;
        if (hi < lo)
        {
            hi = lo;
        }
    }

    private static string Unit<T>() =>
        typeof(T) == typeof(float) ? "floats" : typeof(T) == typeof(int) ? "ints" : "bytes";
}
