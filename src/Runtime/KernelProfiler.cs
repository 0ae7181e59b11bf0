using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;

namespace MobileOne.Runtime;

/// <summary>One row of a <see cref="KernelProfiler"/> report: every kernel call of one kind and size.</summary>
/// <param name="Kind">What was computed, e.g. <c>pointwise 28x28 192-&gt;192</c>, <c>depthwise s2</c>, <c>stem</c>.</param>
/// <param name="Calls">Number of calls recorded.</param>
/// <param name="Seconds">Total wall time of those calls.</param>
/// <param name="MultiplyAccumulates">Total multiply-accumulates of those calls.</param>
public readonly record struct KernelProfileEntry(string Kind, long Calls, double Seconds, long MultiplyAccumulates);

/// <summary>
/// Opt-in timing of every kernel call, for finding the next bottleneck (the benchmark's <c>--profile</c> mode).
/// Off by default; when off each kernel pays one static read. When on, calls allocate (the kind names) and
/// are serialised under a lock, so do not profile and benchmark in the same run.
/// </summary>
public static class KernelProfiler
{
    private static readonly object s_lock = new();
    private static readonly Dictionary<string, (long Calls, long Ticks, long Macs)> s_entries = new();

    /// <summary>Gets or sets whether kernel calls are timed.</summary>
    public static bool Enabled { get; set; }

    /// <summary>Forgets every recorded call.</summary>
    public static void Reset()
    {
        lock (s_lock)
        {
            s_entries.Clear();
        }
    }

    /// <summary>Returns the recorded totals per kind, in first-recorded order.</summary>
    public static IReadOnlyList<KernelProfileEntry> Snapshot()
    {
        lock (s_lock)
        {
            return s_entries.Select(e => new KernelProfileEntry(e.Key, e.Value.Calls, e.Value.Ticks / (double)Stopwatch.Frequency, e.Value.Macs)).ToList();
        }
    }

    /// <summary>A timestamp when profiling is on, else 0.</summary>
    internal static long Start() => Enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>Records one call that began at <paramref name="start"/> (a value of <see cref="Start"/>; 0 = not profiling).</summary>
    internal static void Stop(long start, string kind, long macs)
    {
        if (start == 0)
        {
            return;
        }

        long ticks = Stopwatch.GetTimestamp() - start;
        lock (s_lock)
        {
            s_entries.TryGetValue(kind, out var e);
            s_entries[kind] = (e.Calls + 1, e.Ticks + ticks, e.Macs + macs);
        }
    }
}
