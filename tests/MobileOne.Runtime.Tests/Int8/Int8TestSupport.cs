using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using MobileOne.Runtime;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace MobileOne.Runtime.Tests.Int8;

internal static class Int8Cases
{
    /// <summary>Every INT8 pointwise instruction set, whether or not this CPU has it (rows it lacks are reported skipped).</summary>
    public static IEnumerable<Int8Isa> Isas() => Enum.GetValues<Int8Isa>();

    /// <summary>Cross product of every instruction set with the given cases (instruction set first); use with <see cref="Int8TheoryAttribute"/>.</summary>
    public static IEnumerable<object[]> WithIsas(IEnumerable<object[]> cases)
    {
        object[][] list = cases.ToArray();
        foreach (Int8Isa isa in Isas())
        {
            foreach (object[] c in list)
            {
                yield return new object[] { isa }.Concat(c).ToArray();
            }
        }
    }

    /// <summary>Whether this process can run <paramref name="isa"/> (asked of the hardware directly, not of the runtime).</summary>
    public static bool Available(Int8Isa isa) => isa switch
    {
        Int8Isa.Scalar => true,
        Int8Isa.Avx2 => Avx2.IsSupported,
        Int8Isa.Avx512BW => Avx512BW.IsSupported,
        Int8Isa.AvxVnni => AvxVnni.IsSupported,
        _ => false,
    };

    /// <summary>Why a row that needs <paramref name="isa"/> cannot run here, or null when it can.</summary>
    public static string? SkipReason(Int8Isa isa) => Available(isa)
        ? null
        : isa switch
        {
            Int8Isa.AvxVnni => "AVX-VNNI is not supported by this CPU (e.g. AMD Zen 4, Intel before Alder Lake / Sapphire Rapids), or is disabled (DOTNET_EnableAVXVNNI=0): the vpdpbusd kernels were not run.",
            Int8Isa.Avx512BW => "AVX-512BW is not supported by this CPU, or is disabled (DOTNET_EnableAVX512=0): the 512-bit vpmaddubsw kernels were not run.",
            _ => "AVX2 is not supported by this CPU, or is disabled (DOTNET_EnableAVX2=0): the 256-bit vpmaddubsw kernels were not run.",
        };
}

/// <summary>
/// A theory whose rows may name an <see cref="Int8Isa"/> and/or a <see cref="SimdLevel"/>: a row this CPU cannot run is
/// reported as skipped with the reason (as <see cref="SimdTheoryAttribute"/> does for levels), never silently dropped.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
[XunitTestCaseDiscoverer("MobileOne.Runtime.Tests.Int8.Int8TheoryDiscoverer", "MobileOne.Runtime.Tests")]
public sealed class Int8TheoryAttribute : TheoryAttribute
{
}

/// <summary>Discovers <see cref="Int8TheoryAttribute"/> theories: rows with an unavailable instruction set or level become skipped test cases.</summary>
public sealed class Int8TheoryDiscoverer : TheoryDiscoverer
{
    public Int8TheoryDiscoverer(IMessageSink diagnosticMessageSink)
        : base(diagnosticMessageSink)
    {
    }

    protected override IEnumerable<IXunitTestCase> CreateTestCasesForDataRow(
        ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo theoryAttribute, object[] dataRow)
    {
        string? reason = dataRow.OfType<Int8Isa>().Select(Int8Cases.SkipReason)
            .Concat(dataRow.OfType<SimdLevel>().Select(Cases.SkipReason))
            .FirstOrDefault(r => r != null);
        return reason == null
            ? base.CreateTestCasesForDataRow(discoveryOptions, testMethod, theoryAttribute, dataRow)
            : CreateTestCasesForSkippedDataRow(discoveryOptions, testMethod, theoryAttribute, dataRow, reason);
    }
}

/// <summary>Sets <see cref="Parallelism.MaxDegreeOfParallelism"/> for a using block, then restores it.</summary>
internal sealed class ThreadScope : IDisposable
{
    private readonly int _previous;

    public ThreadScope(int threads)
    {
        _previous = Parallelism.MaxDegreeOfParallelism;
        Parallelism.MaxDegreeOfParallelism = threads;
    }

    public void Dispose() => Parallelism.MaxDegreeOfParallelism = _previous;
}

/// <summary>
/// A 64-byte-aligned native array of <typeparamref name="T"/> with 64-byte guard zones on both sides (filled with a
/// sentinel byte) to catch out-of-bounds writes.
/// </summary>
internal sealed unsafe class NativeArray<T> : IDisposable
    where T : unmanaged
{
    private const int Guard = 64;
    private const byte Sentinel = 0xA5;
    private readonly byte* _block;
    private readonly int _bytes;

    public NativeArray(int length)
    {
        Length = length;
        _bytes = length * sizeof(T);
        _block = (byte*)NativeMemory.AlignedAlloc((nuint)(_bytes + (2 * Guard)), 64);
        new Span<byte>(_block, _bytes + (2 * Guard)).Fill(Sentinel);
    }

    public NativeArray(T[] values)
        : this(values.Length)
    {
        values.CopyTo(Data);
    }

    public int Length { get; }

    public T* Ptr => (T*)(_block + Guard);

    public Span<T> Data => new(Ptr, Length);

    public T[] ToArray() => Data.ToArray();

    public void AssertGuardsIntact()
    {
        for (int i = 0; i < Guard; i++)
        {
            Assert.True(_block[i] == Sentinel, $"Write before the buffer start at byte {i - Guard}.");
            Assert.True(_block[Guard + _bytes + i] == Sentinel, $"Write past the buffer end at byte {_bytes + i}.");
        }
    }

    public void Dispose() => NativeMemory.AlignedFree(_block);
}

/// <summary>Random data and layout conversions for the INT8 tests.</summary>
internal static class Int8Data
{
    public static int RoundUp16(int n) => (n + 15) / 16 * 16;

    public static byte[] RandomBytes(Random rng, int n)
    {
        var a = new byte[n];
        rng.NextBytes(a);
        return a;
    }

    /// <summary>Random int8 weights <c>[out][in]</c> in [-127, 127] that satisfy the pair rule (same-sign pair sums within ±128).</summary>
    public static sbyte[] PairSafeWeights(Random rng, int outChannels, int inChannels)
    {
        var w = new sbyte[outChannels * inChannels];
        for (int o = 0; o < outChannels; o++)
        {
            for (int i = 0; i < inChannels; i += 2)
            {
                int a = rng.Next(-127, 128);
                w[(o * inChannels) + i] = (sbyte)a;
                if (i + 1 < inChannels)
                {
                    int lo = a < 0 ? Math.Max(-127, -128 - a) : -127;
                    int hi = a > 0 ? Math.Min(127, 128 - a) : 127;
                    w[(o * inChannels) + i + 1] = (sbyte)rng.Next(lo, hi + 1);
                }
            }
        }

        return w;
    }

    /// <summary>Random int8 weights in [-127, 127] (no pair rule: depthwise).</summary>
    public static sbyte[] RandomWeights(Random rng, int n)
    {
        var w = new sbyte[n];
        for (int i = 0; i < n; i++)
        {
            w[i] = (sbyte)rng.Next(-127, 128);
        }

        return w;
    }

    public static int[] RandomInts(Random rng, int n, int magnitude)
    {
        var a = new int[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = rng.Next(-magnitude, magnitude + 1);
        }

        return a;
    }

    /// <summary>
    /// Multipliers that spread the outputs over [0, 255] with some clamped at both ends, with exact halves among them
    /// (0.5 and 0.25 make ties that only round-half-even gets right).
    /// </summary>
    public static float[] Multipliers(Random rng, int n, long typicalMagnitude)
    {
        var m = new float[n];
        for (int i = 0; i < n; i++)
        {
            m[i] = (i % 5) switch
            {
                0 => 0.5f,
                1 => 0.25f,
                _ => (float)(rng.NextDouble() * 400.0 / Math.Max(1, typicalMagnitude)),
            };
        }

        return m;
    }

    public static T[] Pad<T>(T[] values, int padded)
    {
        var r = new T[padded];
        values.CopyTo(r, 0);
        return r;
    }

    /// <summary>CHW to NHWC-16 (padding 0).</summary>
    public static T[] ChwToNhwc16<T>(T[] chw, int c, int pixels)
    {
        int cp = RoundUp16(c);
        var dst = new T[pixels * cp];
        for (int ch = 0; ch < c; ch++)
        {
            for (int p = 0; p < pixels; p++)
            {
                dst[(p * cp) + ch] = chw[(ch * pixels) + p];
            }
        }

        return dst;
    }

    /// <summary>NHWC-16 back to CHW; asserts every padding channel is exactly 0 (for floats: +0 bits).</summary>
    public static T[] Nhwc16ToChw<T>(ReadOnlySpan<T> nhwc, int c, int pixels)
        where T : unmanaged
    {
        int cp = RoundUp16(c);
        Assert.Equal(pixels * cp, nhwc.Length);
        var chw = new T[c * pixels];
        for (int p = 0; p < pixels; p++)
        {
            for (int ch = 0; ch < cp; ch++)
            {
                T v = nhwc[(p * cp) + ch];
                if (ch < c)
                {
                    chw[(ch * pixels) + p] = v;
                }
                else
                {
                    Assert.True(EqualityComparer<T>.Default.Equals(v, default), $"Padding channel {ch} of pixel {p} is {v}, expected exactly 0.");
                }
            }
        }

        return chw;
    }

    /// <summary>Asserts two float arrays are identical bit for bit (so +0 and -0 differ, and NaN is never equal to a number).</summary>
    public static void AssertBitsEqual(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
            {
                Assert.Fail($"{what}: element {i} is {actual[i]:R} (bits {BitConverter.SingleToInt32Bits(actual[i]):X8}), expected {expected[i]:R} (bits {BitConverter.SingleToInt32Bits(expected[i]):X8}).");
            }
        }
    }

    /// <summary>Asserts two byte arrays are equal, naming the first difference.</summary>
    public static void AssertBytesEqual(byte[] expected, byte[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (expected[i] != actual[i])
            {
                Assert.Fail($"{what}: element {i} is {actual[i]}, expected {expected[i]}.");
            }
        }
    }
}
