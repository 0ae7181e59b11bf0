using System;
using System.Collections.Generic;
using System.Globalization;

namespace MobileOne.LoadGenerator;

/// <summary>What one concurrency level measured.</summary>
/// <param name="Concurrency">Requests in flight at once.</param>
/// <param name="Requests">Requests completed (answered or failed).</param>
/// <param name="Errors">Requests that failed: not 200, or no answer.</param>
/// <param name="WrongLabels">Answers whose top-1 label is not the one in the image's file name.</param>
/// <param name="Elapsed">Wall time of the level.</param>
/// <param name="SortedMilliseconds">Latency of every successful request, ascending.</param>
/// <param name="MeanBatch">Mean <c>batchSize</c> the server reported.</param>
/// <param name="FirstError">The first error's description, or null.</param>
public sealed record LevelResult(int Concurrency, int Requests, int Errors, int WrongLabels, TimeSpan Elapsed,
    IReadOnlyList<double> SortedMilliseconds, double MeanBatch, string? FirstError)
{
    /// <summary>The Markdown table header matching <see cref="ToMarkdownRow"/>.</summary>
    public const string MarkdownHeader = """
        | concurrency | requests | errors | wrong label | seconds | requests/s | p50 ms | p90 ms | p99 ms | mean batch |
        |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
        """;

    /// <summary>Gets completed requests per second.</summary>
    public double Throughput => Requests / Elapsed.TotalSeconds;

    /// <summary>Formats the row of the Markdown table.</summary>
    /// <returns>The row.</returns>
    public string ToMarkdownRow() => string.Create(CultureInfo.InvariantCulture,
        $"| {Concurrency} | {Requests:N0} | {Errors} | {WrongLabels} | {Elapsed.TotalSeconds:F1} | {Throughput:N0} | " +
        $"{LatencyStats.Percentile(SortedMilliseconds, 50):F2} | {LatencyStats.Percentile(SortedMilliseconds, 90):F2} | " +
        $"{LatencyStats.Percentile(SortedMilliseconds, 99):F2} | {MeanBatch:F2} |");
}
