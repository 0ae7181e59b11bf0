using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.TestSupport.Tests;

/// <summary>One network + two inputs + their double-reference logits, computed once per test run.</summary>
public sealed class ReferenceCase
{
    public ReferenceCase(string name, MobileOneArchitecture architecture, int seed)
    {
        Name = name;
        Architecture = architecture;
        var sw = Stopwatch.StartNew();
        Weights = FusedWeights.Random(architecture, seed);
        InitSeconds = sw.Elapsed.TotalSeconds;
        InputA = TestData.RandomInput(architecture, seed + 1);
        InputB = TestData.RandomInput(architecture, seed + 2);
        sw.Restart();
        ReferenceA = DoubleReference.Run(architecture, Weights, InputA);
        ReferenceB = DoubleReference.Run(architecture, Weights, InputB);
        ReferenceSeconds = sw.Elapsed.TotalSeconds / 2;
    }

    public string Name { get; }
    public MobileOneArchitecture Architecture { get; }
    public FusedWeights Weights { get; }
    public float[] InputA { get; }
    public float[] InputB { get; }
    public double[] ReferenceA { get; }
    public double[] ReferenceB { get; }
    public double InitSeconds { get; }
    public double ReferenceSeconds { get; }

    public override string ToString() => Name;
}

public static class ReferenceCases
{
    private static readonly ConcurrentDictionary<string, Lazy<ReferenceCase>> Cache = new();

    /// <summary>S0..S4 at 224x224 plus custom nets.</summary>
    public static TheoryData<string> All => new() { "s0", "s1", "s2", "s3", "s4", "odd", "gray", "tiny", "se-everywhere" };

    /// <summary>Only the small custom nets.</summary>
    public static TheoryData<string> Custom => new() { "odd", "gray", "tiny", "se-everywhere" };

    public static MobileOneArchitecture Architecture(string name) => name switch
    {
        // Channel counts not multiples of 8/16, odd non-square input, SE in the last two stages (R = 3, 4).
        "odd" => new MobileOneArchitecture(3, 37, 45, 13, new[] { 21, 35, 50, 70 }, new[] { 1, 2, 2, 1 }, new[] { 0, 0, 1, 1 }, 10),
        // 1-channel input, SE with C < 16 (R floored to 1).
        "gray" => new MobileOneArchitecture(1, 45, 37, 8, new[] { 12, 20, 33, 47 }, new[] { 2, 1, 3, 1 }, new[] { 1, 1, 0, 1 }, 10),
        // Final feature map 1x1 (17x9 → 9x5 → 5x3 → 3x2 → 2x1 → 1x1).
        "tiny" => new MobileOneArchitecture(3, 17, 9, 16, new[] { 16, 32, 48, 64 }, new[] { 1, 1, 1, 1 }, new[] { 1, 0, 1, 1 }, 10),
        // SE on every layer, 7 classes, odd widths.
        "se-everywhere" => new MobileOneArchitecture(3, 64, 50, 24, new[] { 40, 72, 100, 130 }, new[] { 2, 2, 3, 2 }, new[] { 2, 2, 3, 2 }, 7),
        _ => MobileOneArchitecture.Preset(name),
    };

    public static ReferenceCase Get(string name) =>
        Cache.GetOrAdd(name, n => new Lazy<ReferenceCase>(() => new ReferenceCase(n, Architecture(n), 1000 + StableHash(n)))).Value;

    private static int StableHash(string s)
    {
        int h = 17;
        foreach (char c in s)
        {
            h = unchecked(h * 31 + c);
        }

        return h & 0xFFFF;
    }
}
