using System;
using System.Collections.Generic;
using System.Linq;
using MobileOne.Runtime;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace MobileOne.Runtime.Tests;

/// <summary>
/// <see cref="Simd.Level"/> is process-wide, so every test class that reads or writes it joins this collection,
/// which xunit runs without parallelism.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SimdCollection
{
    public const string Name = "Simd level (process-wide)";
}

/// <summary>Sets <see cref="Simd.Level"/> for the duration of a using block, then restores it.</summary>
internal sealed class SimdScope : IDisposable
{
    private readonly SimdLevel _previous;

    public SimdScope(SimdLevel level)
    {
        _previous = Simd.Level;
        Simd.Level = level;
    }

    public void Dispose() => Simd.Level = _previous;
}

internal static class Cases
{
    /// <summary>
    /// Every level, lowest first, whether or not this machine accelerates it. Theories over levels use
    /// <see cref="SimdTheoryAttribute"/>, which reports the rows above <see cref="Simd.Best"/> as skipped (with the
    /// reason) instead of dropping them, so a run on a CPU without AVX-512 says that the 512-bit kernels were not run.
    /// </summary>
    public static IEnumerable<SimdLevel> Levels() => Enum.GetValues<SimdLevel>().OrderBy(l => l);

    /// <summary>The levels this machine can run (up to <see cref="Simd.Best"/>), lowest first.</summary>
    public static IEnumerable<SimdLevel> Available() => Levels().Where(l => l <= Simd.Best);

    /// <summary>Cross product of every level with the given cases (level first); use with <see cref="SimdTheoryAttribute"/>.</summary>
    public static IEnumerable<object[]> WithLevels(IEnumerable<object[]> cases)
    {
        object[][] list = cases.ToArray();
        foreach (SimdLevel level in Levels())
        {
            foreach (object[] c in list)
            {
                yield return new object[] { level }.Concat(c).ToArray();
            }
        }
    }

    /// <summary>Why a row that needs <paramref name="level"/> cannot run here, or null when it can.</summary>
    public static string? SkipReason(SimdLevel level) => level <= Simd.Best
        ? null
        : $"{level} is not hardware accelerated on this CPU ({Missing(level)}): the {Bits(level)}-bit kernels were not run (Simd.Best is {Simd.Best}).";

    private static string Missing(SimdLevel level) => level switch
    {
        SimdLevel.Vector512 => "no AVX-512, or it is disabled by DOTNET_EnableAVX512=0",
        SimdLevel.Vector256 => "no AVX2, or it is disabled by DOTNET_EnableAVX2=0",
        _ => "no SSE / AdvSimd, or hardware intrinsics are disabled",
    };

    private static int Bits(SimdLevel level) => level switch
    {
        SimdLevel.Vector512 => 512,
        SimdLevel.Vector256 => 256,
        SimdLevel.Vector128 => 128,
        _ => 0,
    };
}

/// <summary>
/// A theory whose data rows name <see cref="SimdLevel"/>s: a row with a level above <see cref="Simd.Best"/> is
/// reported as skipped, with <see cref="Cases.SkipReason"/> as the reason, instead of running (it could not: setting
/// <see cref="Simd.Level"/> above <see cref="Simd.Best"/> throws) or silently disappearing.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
[XunitTestCaseDiscoverer("MobileOne.Runtime.Tests.SimdTheoryDiscoverer", "MobileOne.Runtime.Tests")]
public sealed class SimdTheoryAttribute : TheoryAttribute
{
}

/// <summary>Discovers <see cref="SimdTheoryAttribute"/> theories: rows with an unavailable level become skipped test cases.</summary>
public sealed class SimdTheoryDiscoverer : TheoryDiscoverer
{
    public SimdTheoryDiscoverer(IMessageSink diagnosticMessageSink)
        : base(diagnosticMessageSink)
    {
    }

    protected override IEnumerable<IXunitTestCase> CreateTestCasesForDataRow(
        ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo theoryAttribute, object[] dataRow)
    {
        string? reason = dataRow.OfType<SimdLevel>().Select(Cases.SkipReason).FirstOrDefault(r => r != null);
        return reason == null
            ? base.CreateTestCasesForDataRow(discoveryOptions, testMethod, theoryAttribute, dataRow)
            : CreateTestCasesForSkippedDataRow(discoveryOptions, testMethod, theoryAttribute, dataRow, reason);
    }
}

/// <summary>
/// A 64-byte-aligned native float array with 16-float guard zones on both sides, to catch out-of-bounds writes.
/// </summary>
internal sealed unsafe class Native
{
    private const int Guard = 16;
    private const float Sentinel = -98765.4321f;
    private readonly AlignedFloatBuffer _buffer;

    public Native(int length, float fill = float.NaN)
    {
        Length = length;
        _buffer = new AlignedFloatBuffer(length + (2 * Guard));
        _buffer.Span.Fill(Sentinel);
        Data.Fill(fill);
    }

    public Native(float[] values)
        : this(values.Length)
    {
        values.CopyTo(Data);
    }

    public int Length { get; }

    /// <summary>Start of the data; still 64-byte aligned because the guard is 16 floats.</summary>
    public float* Ptr => _buffer.Pointer + Guard;

    public Span<float> Data => _buffer.Span.Slice(Guard, Length);

    public float[] ToArray() => Data.ToArray();

    public void AssertGuardsIntact()
    {
        Span<float> all = _buffer.Span;
        for (int i = 0; i < Guard; i++)
        {
            Assert.True(all[i] == Sentinel, $"Write before the buffer start at {i - Guard}.");
            Assert.True(all[Guard + Length + i] == Sentinel, $"Write past the buffer end at {Length + i}.");
        }
    }
}

internal static class Data
{
    public static float[] Random(Random rng, int n, float scale = 1f)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = (float)((rng.NextDouble() * 2.0) - 1.0) * scale;
        }

        return a;
    }

    public static int RoundUp16(int n) => (n + 15) / 16 * 16;

    /// <summary>CHW (PyTorch, batch 1) to NHWC with channels padded to 16 (padding 0).</summary>
    public static float[] ChwToNhwc16(float[] chw, int c, int h, int w)
    {
        int cp = RoundUp16(c);
        var dst = new float[h * w * cp];
        for (int ch = 0; ch < c; ch++)
        {
            for (int y = 0; y < h; y++)
            {
                for (int x = 0; x < w; x++)
                {
                    dst[(((y * w) + x) * cp) + ch] = chw[(((ch * h) + y) * w) + x];
                }
            }
        }

        return dst;
    }

    /// <summary>NHWC-16 back to CHW; asserts every padding channel is exactly 0.</summary>
    public static float[] Nhwc16ToChw(ReadOnlySpan<float> nhwc, int c, int h, int w)
    {
        int cp = RoundUp16(c);
        Assert.Equal(h * w * cp, nhwc.Length);
        var chw = new float[c * h * w];
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                int pixel = ((y * w) + x) * cp;
                for (int ch = 0; ch < cp; ch++)
                {
                    float v = nhwc[pixel + ch];
                    if (ch < c)
                    {
                        chw[(((ch * h) + y) * w) + x] = v;
                    }
                    else
                    {
                        Assert.True(v == 0f, $"Padding channel {ch} at ({y},{x}) is {v}, expected exactly 0.");
                    }
                }
            }
        }

        return chw;
    }

    /// <summary>Asserts a padded vector's slots from <paramref name="count"/> on are exactly 0.</summary>
    public static void AssertPaddingZero(ReadOnlySpan<float> v, int count)
    {
        for (int i = count; i < v.Length; i++)
        {
            Assert.True(v[i] == 0f, $"Padding slot {i} is {v[i]}, expected exactly 0.");
        }
    }

    /// <summary>max |actual - expected| must be at most 1e-4 * max |expected| + 1e-5 (NaN fails).</summary>
    public static void AssertClose(double[] expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxRef = 0;
        foreach (double e in expected)
        {
            maxRef = Math.Max(maxRef, Math.Abs(e));
        }

        double tolerance = (1e-4 * maxRef) + 1e-5;
        double maxDiff = 0;
        int worst = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = Math.Abs(actual[i] - expected[i]);
            if (double.IsNaN(d))
            {
                Assert.Fail($"{what}: element {i} is {actual[i]} (expected {expected[i]}); was it never written?");
            }

            if (d > maxDiff)
            {
                maxDiff = d;
                worst = i;
            }
        }

        Assert.True(
            maxDiff <= tolerance,
            $"{what}: max |diff| {maxDiff:G6} at {worst} (got {(worst >= 0 ? actual[worst] : 0)}, expected {(worst >= 0 ? expected[worst] : 0)}) exceeds {tolerance:G6}.");
    }

    public static double Relu(double v, bool relu) => relu && v < 0 ? 0 : v;
}
