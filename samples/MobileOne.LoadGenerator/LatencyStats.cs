using System;
using System.Collections.Generic;

namespace MobileOne.LoadGenerator;

/// <summary>Percentiles of a set of latencies (nearest rank).</summary>
public static class LatencyStats
{
    /// <summary>Returns the <paramref name="percentile"/>-th percentile of <paramref name="sorted"/> by the nearest-rank method.</summary>
    /// <param name="sorted">The values, ascending.</param>
    /// <param name="percentile">0 &lt; p ≤ 100.</param>
    /// <returns>The smallest value with at least p % of the values at or below it.</returns>
    public static double Percentile(IReadOnlyList<double> sorted, double percentile)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(percentile, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percentile, 100);
        int rank = (int)Math.Ceiling(percentile / 100 * sorted.Count);
        return sorted[Math.Clamp(rank, 1, sorted.Count) - 1];
    }
}
