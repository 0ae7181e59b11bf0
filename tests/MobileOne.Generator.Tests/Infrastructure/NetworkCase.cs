using System;
using System.Collections.Concurrent;
using MobileOne.TestSupport;

namespace MobileOne.Generator.Tests.Infrastructure;

/// <summary>A network, its random weights, two random inputs and their reference logits (computed once per process).</summary>
public sealed class NetworkCase
{
    private static readonly ConcurrentDictionary<string, Lazy<NetworkCase>> Cache = new();

    private NetworkCase(string name, MobileOneArchitecture arch, int seed)
    {
        Name = name;
        Architecture = arch;
        Weights = FusedWeights.Random(arch, seed);
        InputA = TestData.RandomInput(arch, seed + 1000);
        InputB = TestData.RandomInput(arch, seed + 2000);
        ReferenceA = DoubleReference.Run(arch, Weights, InputA);
        ReferenceB = DoubleReference.Run(arch, Weights, InputB);
    }

    public string Name { get; }

    public MobileOneArchitecture Architecture { get; }

    public FusedWeights Weights { get; }

    public float[] InputA { get; }

    public float[] InputB { get; }

    /// <summary>Double-precision logits of <see cref="InputA"/> on the F32 weights.</summary>
    public double[] ReferenceA { get; }

    public double[] ReferenceB { get; }

    public static NetworkCase Get(string name) => Cache.GetOrAdd(name, n => new Lazy<NetworkCase>(() => Create(n))).Value;

    /// <summary>Custom nets: channel counts that are not multiples of 8 or 16, odd non-square inputs, 1-channel input, 10 classes, SE placements.</summary>
    public static MobileOneArchitecture ArchitectureOf(string name) => name switch
    {
        "s0" or "s1" or "s2" or "s3" or "s4" => MobileOneArchitecture.Preset(name),
        "odd" => new MobileOneArchitecture(3, 37, 45, 13, new[] { 21, 35, 50, 70 }, new[] { 1, 2, 2, 1 }, new[] { 0, 0, 1, 1 }, 10),
        "gray" => new MobileOneArchitecture(1, 65, 33, 24, new[] { 17, 40, 72, 100 }, new[] { 2, 1, 3, 2 }, new[] { 1, 1, 3, 2 }, 10),
        "wide" => new MobileOneArchitecture(3, 96, 128, 64, new[] { 96, 192, 520, 1000 }, new[] { 1, 2, 2, 1 }, new[] { 0, 0, 0, 0 }, 37),
        _ => throw new ArgumentException("Unknown case " + name, nameof(name)),
    };

    /// <summary>A published variant at <paramref name="size"/> x <paramref name="size"/> (cached like <see cref="Get"/>).</summary>
    public static NetworkCase Small(string variant, int size) =>
        Cache.GetOrAdd(variant + "@" + size, _ => new Lazy<NetworkCase>(() =>
            new NetworkCase(variant, MobileOneArchitecture.Preset(variant) with { InputHeight = size, InputWidth = size }, TestData.StableSeed(variant + "@" + size)))).Value;

    private static NetworkCase Create(string name) => new(name, ArchitectureOf(name), TestData.StableSeed(name));
}
