using System;
using System.Globalization;

namespace MobileOne.TestSupport;

/// <summary>Thrown by the <see cref="LogitComparison"/> assertions.</summary>
public sealed class ReferenceMismatchException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ReferenceMismatchException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public ReferenceMismatchException() { }

    /// <summary>Creates the exception.</summary>
    public ReferenceMismatchException(string message, Exception innerException) : base(message, innerException) { }
}

/// <summary>Result of comparing logits with a reference.</summary>
/// <param name="MaxAbsDiff">max_i |actual_i − reference_i| (∞ on length mismatch or NaN).</param>
/// <param name="WorstIndex">Index where the max is reached (−1 if none).</param>
/// <param name="MaxAbsReference">max_i |reference_i|.</param>
/// <param name="Tolerance">1e-4 · MaxAbsReference + 1e-5.</param>
public sealed record LogitComparisonResult(string Label, int Length, double MaxAbsDiff, int WorstIndex,
    double MaxAbsReference, double Tolerance)
{
    /// <summary>MaxAbsDiff ≤ Tolerance.</summary>
    public bool Passed => MaxAbsDiff <= Tolerance;

    /// <summary>One-line explanation with all numbers.</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Label}: max|Δ| = {MaxAbsDiff:G6} at [{WorstIndex}] vs tolerance {Tolerance:G6} " +
        $"(= 1e-4 * max|ref| {MaxAbsReference:G6} + 1e-5), ratio {MaxAbsDiff / Tolerance:G4}, {Length} logits: {(Passed ? "OK" : "FAIL")}");
}

/// <summary>Result of the "two inputs give clearly different logits" check.</summary>
/// <param name="Spread">max_i |a_i − b_i|.</param>
/// <param name="MaxAbsLogit">max over both vectors of |logit|.</param>
/// <param name="Tolerance">1e-4 · MaxAbsLogit + 1e-5.</param>
/// <param name="Factor">Required Spread / Tolerance.</param>
public sealed record DistinguishabilityResult(string Label, double Spread, double MaxAbsLogit, double Tolerance, double Factor)
{
    /// <summary>Spread / Tolerance.</summary>
    public double Ratio => Spread / Tolerance;

    /// <summary>Spread ≥ Factor · Tolerance.</summary>
    public bool Passed => Spread >= Factor * Tolerance;

    /// <summary>One-line explanation with all numbers.</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Label}: logits of two inputs differ by max {Spread:G6}, tolerance {Tolerance:G6} " +
        $"(max|logit| {MaxAbsLogit:G6}), ratio {Ratio:G4} (need ≥ {Factor:G4}): {(Passed ? "OK" : "FAIL")}");
}

/// <summary>Logit comparisons shared by all tests: tolerance = 1e-4 · max|ref| + 1e-5.</summary>
public static class LogitComparison
{
    /// <summary>Relative part of the tolerance.</summary>
    public const double RelativeTolerance = 1e-4;

    /// <summary>Absolute part of the tolerance.</summary>
    public const double AbsoluteTolerance = 1e-5;

    /// <summary>Default factor of <see cref="CheckDistinguishable"/>.</summary>
    public const double DistinguishFactor = 100;

    /// <summary>1e-4 · maxAbsReference + 1e-5.</summary>
    public static double ToleranceFor(double maxAbsReference) => RelativeTolerance * maxAbsReference + AbsoluteTolerance;

    /// <summary>Compares <paramref name="actual"/> with <paramref name="reference"/>.</summary>
    public static LogitComparisonResult Compare(ReadOnlySpan<double> reference, ReadOnlySpan<double> actual, string label = "logits")
    {
        double maxRef = 0;
        foreach (double r in reference)
        {
            maxRef = Math.Max(maxRef, Math.Abs(r));
        }

        double tol = ToleranceFor(maxRef);
        if (reference.Length != actual.Length)
        {
            return new LogitComparisonResult($"{label} (length {actual.Length} != reference {reference.Length})",
                reference.Length, double.PositiveInfinity, -1, maxRef, tol);
        }

        double worst = 0;
        int at = -1;
        for (int i = 0; i < reference.Length; i++)
        {
            double d = Math.Abs(actual[i] - reference[i]);
            if (double.IsNaN(d)) { worst = double.PositiveInfinity; at = i; break; }
            if (d > worst || at < 0) { worst = d; at = i; }
        }
        return new LogitComparisonResult(label, reference.Length, worst, at, maxRef, tol);
    }

    /// <summary>Compares float logits with a double reference.</summary>
    public static LogitComparisonResult Compare(ReadOnlySpan<double> reference, ReadOnlySpan<float> actual, string label = "logits")
        => Compare(reference, Widen(actual), label);

    /// <summary>Throws <see cref="ReferenceMismatchException"/> unless max|Δ| ≤ tolerance.</summary>
    public static LogitComparisonResult AssertClose(ReadOnlySpan<double> reference, ReadOnlySpan<float> actual, string label = "logits")
        => Throw(Compare(reference, actual, label));

    /// <summary>Throws <see cref="ReferenceMismatchException"/> unless max|Δ| ≤ tolerance.</summary>
    public static LogitComparisonResult AssertClose(ReadOnlySpan<double> reference, ReadOnlySpan<double> actual, string label = "logits")
        => Throw(Compare(reference, actual, label));

    /// <summary>Spread of the logits of two different inputs against the tolerance.</summary>
    public static DistinguishabilityResult CheckDistinguishable(ReadOnlySpan<double> logitsA, ReadOnlySpan<double> logitsB,
        string label = "logits", double factor = DistinguishFactor)
    {
        if (logitsA.Length != logitsB.Length)
        {
            throw new ArgumentException("Logit vectors differ in length.");
        }

        double spread = 0, maxAbs = 0;
        for (int i = 0; i < logitsA.Length; i++)
        {
            spread = Math.Max(spread, Math.Abs(logitsA[i] - logitsB[i]));
            maxAbs = Math.Max(maxAbs, Math.Max(Math.Abs(logitsA[i]), Math.Abs(logitsB[i])));
        }
        return new DistinguishabilityResult(label, spread, maxAbs, ToleranceFor(maxAbs), factor);
    }

    /// <summary>Throws <see cref="ReferenceMismatchException"/> unless the two inputs' logits differ by ≥ factor × tolerance.</summary>
    public static DistinguishabilityResult AssertDistinguishable(ReadOnlySpan<double> logitsA, ReadOnlySpan<double> logitsB,
        string label = "logits", double factor = DistinguishFactor)
    {
        DistinguishabilityResult r = CheckDistinguishable(logitsA, logitsB, label, factor);
        return r.Passed ? r : throw new ReferenceMismatchException(r.Describe());
    }

    /// <summary>float → double copy.</summary>
    public static double[] Widen(ReadOnlySpan<float> values)
    {
        double[] d = new double[values.Length];
        for (int i = 0; i < d.Length; i++)
        {
            d[i] = values[i];
        }

        return d;
    }

    private static LogitComparisonResult Throw(LogitComparisonResult r)
        => r.Passed ? r : throw new ReferenceMismatchException(r.Describe());
}
