using System;
using System.Globalization;

namespace MobileOne.Fuzz.Tests.Infrastructure;

/// <summary>
/// How much fuzzing a run does. CI runs <see cref="DefaultIterations"/> inputs per target with a fixed seed (so a
/// failure reproduces); <c>MOBILEONE_FUZZ_ITERATIONS=1000000</c> runs a long campaign on demand and
/// <c>MOBILEONE_FUZZ_SEED=n</c> explores other inputs.
/// </summary>
public static class FuzzOptions
{
    /// <summary>Inputs per target in CI.</summary>
    public const int DefaultIterations = 10_000;

    public const string IterationsVariable = "MOBILEONE_FUZZ_ITERATIONS";

    public const string SeedVariable = "MOBILEONE_FUZZ_SEED";

    /// <summary>Longest one input may take before it counts as a hang.</summary>
    public static TimeSpan PerInputTimeout { get; } = TimeSpan.FromSeconds(10);

    public static int Iterations(int defaultIterations = DefaultIterations) =>
        int.TryParse(Environment.GetEnvironmentVariable(IterationsVariable), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0
            ? n
            : defaultIterations;

    public static int Seed(int defaultSeed) =>
        int.TryParse(Environment.GetEnvironmentVariable(SeedVariable), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int s)
            ? s
            : defaultSeed;
}
