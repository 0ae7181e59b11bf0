using System;

namespace MobileOne.TestSupport;

/// <summary>Deterministic random inputs.</summary>
public static class TestData
{
    /// <summary>CHW input of <paramref name="arch"/> with i.i.d. N(0, 1) entries (seeded, reproducible).</summary>
    public static float[] RandomInput(MobileOneArchitecture arch, int seed)
    {
        ArgumentNullException.ThrowIfNull(arch);
        var rng = new Random(seed);
        float[] x = new float[arch.InputLength];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)NextGaussian(rng);
        }

        return x;
    }

    /// <summary><paramref name="count"/> CHW inputs stacked as NCHW.</summary>
    public static float[] RandomBatch(MobileOneArchitecture arch, int count, int seed)
    {
        ArgumentNullException.ThrowIfNull(arch);
        float[] x = new float[arch.InputLength * count];
        for (int n = 0; n < count; n++)
        {
            RandomInput(arch, unchecked(seed + 7919 * n)).CopyTo(x, n * arch.InputLength);
        }

        return x;
    }

    /// <summary>
    /// A seed in 1..1000 derived from <paramref name="name"/> that is the same in every process (FNV-1a over the UTF-16
    /// code units; <c>string.GetHashCode</c> is randomised per process, so a case seeded with it ran different weights on
    /// every run).
    /// </summary>
    public static int StableSeed(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        uint hash = 2166136261;
        foreach (char c in name)
        {
            hash = (hash ^ c) * 16777619;
        }

        return (int)(hash % 1000) + 1;
    }

    /// <summary>Standard normal sample (Box–Muller).</summary>
    public static double NextGaussian(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        double u1 = 1.0 - rng.NextDouble(); // (0, 1]
        double u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
