using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using Xunit.Abstractions;

namespace MobileOne.Fuzz.Tests.Infrastructure;

/// <summary>A disallowed outcome of one fuzz input (an unexpected exception type, a broken invariant).</summary>
public sealed class FuzzFailure : Exception
{
    public FuzzFailure(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

/// <summary>
/// Runs one fuzz target: feeds inputs one at a time to <c>body</c> on a worker thread watched for hangs
/// (<see cref="FuzzOptions.PerInputTimeout"/>), measures what each call allocates
/// (<see cref="GC.GetAllocatedBytesForCurrentThread"/>) against a budget that is a small multiple of the input size,
/// and counts outcomes. An input that fails is written to <c>fuzz-findings/&lt;target&gt;/</c> in the test output
/// folder (copy it to <c>Corpus/&lt;target&gt;/</c> to keep it as a regression test).
/// </summary>
public static class FuzzRunner
{
    public static string FindingsDirectory(string target) => Path.Combine(AppContext.BaseDirectory, "fuzz-findings", target);

    /// <param name="target">Name of the target (folder of its findings and corpus).</param>
    /// <param name="inputs">The inputs, generated lazily.</param>
    /// <param name="body">Runs one input; returns an outcome label; throws <see cref="FuzzFailure"/> (or anything) on a disallowed outcome.</param>
    /// <param name="allocationBudget">Bytes one input may allocate, from its length.</param>
    /// <param name="output">Where the statistics go.</param>
    public static FuzzStats Run(string target, IEnumerable<byte[]> inputs, Func<byte[], string> body, Func<long, long> allocationBudget, ITestOutputHelper? output)
    {
        var stats = new FuzzStats(target);
        var failures = new List<string>();
        byte[]? current = null;
        long currentStart = 0;
        Exception? crashed = null;
        var watch = Stopwatch.StartNew();
        var worker = new Thread(() =>
        {
            try
            {
                foreach (byte[] input in inputs)
                {
                    Volatile.Write(ref current, input);
                    Volatile.Write(ref currentStart, Stopwatch.GetTimestamp());
                    long before = GC.GetAllocatedBytesForCurrentThread();
                    string outcome;
                    try
                    {
                        outcome = body(input);
                    }
                    catch (Exception e)
                    {
                        outcome = "FAIL";
                        if (failures.Count < 20)
                        {
                            failures.Add($"{Save(target, input)}: {e.GetType().FullName}: {e.Message}{Environment.NewLine}{e.StackTrace}");
                        }
                    }

                    long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                    long elapsedTicks = Stopwatch.GetTimestamp() - Volatile.Read(ref currentStart);
                    stats.Record(outcome, input.LongLength, allocated, elapsedTicks);
                    long budget = allocationBudget(input.LongLength);
                    if (allocated > budget && failures.Count < 20)
                    {
                        failures.Add($"{Save(target, input)}: allocated {allocated} bytes for a {input.LongLength}-byte input (budget {budget}), outcome {outcome}");
                    }

                    Volatile.Write(ref currentStart, 0L);
                }
            }
            catch (Exception e)
            {
                crashed = e;
            }
        }, 64 * 1024 * 1024)
        { IsBackground = true, Name = "fuzz " + target };
        worker.Start();
        long timeoutTicks = (long)(FuzzOptions.PerInputTimeout.TotalSeconds * Stopwatch.Frequency);
        while (!worker.Join(50))
        {
            long start = Volatile.Read(ref currentStart);
            if (start != 0 && Stopwatch.GetTimestamp() - start > timeoutTicks)
            {
                // A hang: the worker cannot be aborted; it is a background thread and is left behind.
                byte[] stuck = Volatile.Read(ref current)!;
                throw new FuzzFailure($"{target}: one input ran longer than {FuzzOptions.PerInputTimeout.TotalSeconds} s (saved as {Save(target, stuck)}).");
            }
        }

        stats.Elapsed = watch.Elapsed;
        output?.WriteLine(stats.ToString());
        if (crashed != null)
        {
            throw new FuzzFailure($"{target}: the input generator failed", crashed);
        }

        if (failures.Count > 0)
        {
            throw new FuzzFailure($"{target}: {failures.Count} failing input(s) of {stats.Count}:{Environment.NewLine}" + string.Join(Environment.NewLine + Environment.NewLine, failures));
        }

        return stats;
    }

    /// <summary>Writes a failing input to the findings folder of <paramref name="target"/>; returns its path.</summary>
    public static string Save(string target, byte[] input)
    {
        string dir = FindingsDirectory(target);
        Directory.CreateDirectory(dir);
        string name = Convert.ToHexString(SHA256.HashData(input)).Substring(0, 16).ToLowerInvariant() + ".bin";
        string path = Path.Combine(dir, name);
        File.WriteAllBytes(path, input);
        return path;
    }
}

/// <summary>What a fuzz run did: inputs, outcomes, time, allocation.</summary>
public sealed class FuzzStats
{
    private readonly Dictionary<string, int> _outcomes = new(StringComparer.Ordinal);

    public FuzzStats(string target) => Target = target;

    public string Target { get; }

    public int Count { get; private set; }

    public TimeSpan Elapsed { get; set; }

    public double MaxSeconds { get; private set; }

    public long MaxAllocated { get; private set; }

    public double MaxAllocatedPerByte { get; private set; }

    public IReadOnlyDictionary<string, int> Outcomes => _outcomes;

    public int this[string outcome] => _outcomes.TryGetValue(outcome, out int n) ? n : 0;

    internal void Record(string outcome, long length, long allocated, long ticks)
    {
        Count++;
        _outcomes[outcome] = this[outcome] + 1;
        MaxSeconds = Math.Max(MaxSeconds, ticks / (double)Stopwatch.Frequency);
        MaxAllocated = Math.Max(MaxAllocated, allocated);
        MaxAllocatedPerByte = Math.Max(MaxAllocatedPerByte, allocated / (double)Math.Max(1, length));
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"{Target}: {Count} inputs in {Elapsed.TotalSeconds:F2} s (slowest {MaxSeconds * 1000:F1} ms), max {MaxAllocated} bytes allocated by one input, max {MaxAllocatedPerByte:F1} bytes per input byte; outcomes: ");
        sb.Append(string.Join(", ", _outcomes.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}")));
        return sb.ToString();
    }
}
