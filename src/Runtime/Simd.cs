using System;
using System.Runtime.Intrinsics;

namespace MobileOne.Runtime;

/// <summary>The vector width the kernels use. Every level computes on the same NHWC-16 layout.</summary>
public enum SimdLevel
{
    /// <summary>Plain scalar loops over 16 floats.</summary>
    Scalar = 0,

    /// <summary>Four <see cref="Vector128{T}"/> per 16-float block (SSE / AdvSimd).</summary>
    Vector128 = 1,

    /// <summary>Two <see cref="Vector256{T}"/> per 16-float block (AVX2 + FMA).</summary>
    Vector256 = 2,

    /// <summary>One <see cref="Vector512{T}"/> per 16-float block (AVX-512).</summary>
    Vector512 = 3,
}

/// <summary>
/// Process-wide selection of the kernel instruction set. <see cref="Level"/> is a plain static (not
/// thread-local): changing it affects every thread, so change it only while no inference is running.
/// </summary>
public static class Simd
{
    /// <summary>Name of the environment variable that sets the initial <see cref="Level"/> for a whole process.</summary>
    public const string EnvironmentVariable = "MOBILEONE_SIMD";

    /// <summary>The highest level whose vectors the hardware (and runtime configuration) accelerates.</summary>
    public static SimdLevel Best { get; } = DetectBest();

    // Declared after Best: static initialisers run in textual order. The level is stored as its kernel table, so the
    // kernels' instruction set is chosen here, once per change of Level, and always matches it.
    private static KernelTable s_kernels = KernelTable.For(ParseLevel(Environment.GetEnvironmentVariable(EnvironmentVariable), Best));

    /// <summary>
    /// The level the kernels use. Starts at <see cref="Best"/>, or at the value of the environment variable
    /// <c>MOBILEONE_SIMD</c> (<c>scalar</c>, <c>vector128</c>, <c>vector256</c>, <c>vector512</c>) when it is set
    /// to a level not above <see cref="Best"/>. Can be lowered (and raised again up to <see cref="Best"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined level or is above <see cref="Best"/>.</exception>
    public static SimdLevel Level
    {
        get => s_kernels.Level;
        set
        {
            if (value < SimdLevel.Scalar || value > SimdLevel.Vector512)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "Unknown SIMD level.");
            }

            if (value > Best)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(value),
                    value,
                    $"SIMD level {value} is not hardware accelerated on this machine; available levels are Scalar up to {Best}.");
            }

            s_kernels = KernelTable.For(value);
        }
    }

    /// <summary>
    /// Gets a one-line description of the detected caches (<see cref="CpuCaches.Current"/>) and the cache blocking the
    /// kernels chose from them, for benchmarks and logs.
    /// </summary>
    public static string Blocking => string.Create(
        System.Globalization.CultureInfo.InvariantCulture,
        $"caches: {CpuCaches.Current}; pointwise: pixel chunks of {PointwiseConv.CacheChunkFloats * sizeof(float) / 1024} KB of input, Vector512 tiles of up to 14 pixels x 32 channels (8 pixels when cin < {PointwiseAvx512.DeepTileMinChannels}), next panel pair prefetched into L2, one chunk when the weights exceed half the L2 and the input fits in half");

    /// <summary>Gets the micro-kernels of <see cref="Level"/> (see <see cref="KernelTable"/>).</summary>
    internal static KernelTable Kernels => s_kernels;

    private static SimdLevel DetectBest()
    {
        if (Vector512.IsHardwareAccelerated)
        {
            return SimdLevel.Vector512;
        }

        if (Vector256.IsHardwareAccelerated)
        {
            return SimdLevel.Vector256;
        }

        if (Vector128.IsHardwareAccelerated)
        {
            return SimdLevel.Vector128;
        }

        return SimdLevel.Scalar;
    }

    /// <summary>Parses an environment-variable value; returns <paramref name="best"/> when unset, unknown or above it.</summary>
    internal static SimdLevel ParseLevel(string? text, SimdLevel best)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return best;
        }

        SimdLevel? requested = text.Trim().ToLowerInvariant() switch
        {
            "scalar" => SimdLevel.Scalar,
            "vector128" => SimdLevel.Vector128,
            "vector256" => SimdLevel.Vector256,
            "vector512" => SimdLevel.Vector512,
            _ => null,
        };

        return requested is { } level && level <= best ? level : best;
    }
}
