using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Threading;
using Microsoft.ML.OnnxRuntime;
using MobileOne.Runtime;

namespace MobileOne.Benchmarks;

/// <summary>Command-line options.</summary>
internal sealed record Options(string[] Variants, int[] Threads, int Iterations, int Warmup, int Seed, bool Profile, SimdLevel? Simd, int GapMs, bool OrtNoSpin, bool Int8 = true)
{
    public static Options Parse(string[] args)
    {
        string? Value(string name)
        {
            int i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }

        string[] variants = (Value("--variants") ?? "s0,s1,s2,s3,s4").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        int[] threads = (Value("--threads") ?? "1,2").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        SimdLevel? simd = Value("--simd") is { } s ? Enum.Parse<SimdLevel>(s, ignoreCase: true) : null;
        return new Options(
            variants,
            threads,
            int.Parse(Value("--iterations") ?? "40", System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(Value("--warmup") ?? "8", System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(Value("--seed") ?? "1", System.Globalization.CultureInfo.InvariantCulture),
            args.Contains("--profile"),
            simd,
            int.Parse(Value("--gap-ms") ?? "5", System.Globalization.CultureInfo.InvariantCulture),
            args.Contains("--ort-no-spin"),
            !args.Contains("--no-int8"));
    }
}

/// <summary>The generated classes, by variant.</summary>
internal static class Networks
{
    public static IMobileOneNetwork Load(string variant, Stream weights) => variant.ToLowerInvariant() switch
    {
        "s0" => MobileOneS0.Load(weights),
        "s1" => MobileOneS1.Load(weights),
        "s2" => MobileOneS2.Load(weights),
        "s3" => MobileOneS3.Load(weights),
        "s4" => MobileOneS4.Load(weights),
        _ => throw new ArgumentException($"Unknown variant '{variant}' (s0-s4)."),
    };

    /// <summary>The int8 classes (docs/quantization.md), generated from architecture files that say "int8".</summary>
    public static IMobileOneNetwork LoadInt8(string variant, Stream weights) => variant.ToLowerInvariant() switch
    {
        "s0" => MobileOneS0Int8.Load(weights),
        "s1" => MobileOneS1Int8.Load(weights),
        "s2" => MobileOneS2Int8.Load(weights),
        "s3" => MobileOneS3Int8.Load(weights),
        "s4" => MobileOneS4Int8.Load(weights),
        _ => throw new ArgumentException($"Unknown variant '{variant}' (s0-s4)."),
    };
}

/// <summary>One ORT call with pre-allocated input and output tensors (no per-call marshalling of arrays).</summary>
internal sealed class OrtCall : IDisposable
{
    private readonly InferenceSession _session;
    private readonly OrtValue _input;
    private readonly OrtValue _output;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly OrtValue[] _inputs;
    private readonly OrtValue[] _outputs;
    private readonly RunOptions _runOptions = new();

    public OrtCall(InferenceSession session, float[] input, int classes)
    {
        _session = session;
        Output = new float[classes];
        var meta = session.InputMetadata.Single();
        int[] d = meta.Value.Dimensions;
        _input = OrtValue.CreateTensorValueFromMemory(input, new long[] { 1, d[1], d[2], d[3] });
        _output = OrtValue.CreateTensorValueFromMemory(Output, new long[] { 1, classes });
        _inputNames = new[] { meta.Key };
        _outputNames = new[] { session.OutputMetadata.Single().Key };
        _inputs = new[] { _input };
        _outputs = new[] { _output };
    }

    public float[] Output { get; }

    public void Run() => _session.Run(_runOptions, _inputNames, _inputs, _outputNames, _outputs);

    public void Dispose()
    {
        _input.Dispose();
        _output.Dispose();
        _runOptions.Dispose();
    }
}

/// <summary>FMA throughput: independent FMA chains on registers, per thread, summed over threads.</summary>
internal static class FmaPeak
{
    public static double Measure(int threads, bool wide)
    {
        double best = 0;
        for (int rep = 0; rep < 3; rep++)
        {
            var results = new double[threads];
            using var start = new Barrier(threads);
            var workers = Enumerable.Range(0, threads).Select(i => new Thread(() =>
            {
                start.SignalAndWait();
                results[i] = wide ? Loop512(30_000_000) : Loop256(30_000_000);
            })).ToArray();
            foreach (var w in workers)
            {
                w.Start();
            }

            foreach (var w in workers)
            {
                w.Join();
            }

            best = Math.Max(best, results.Sum());
        }

        return best;
    }

    /// <summary>GFLOP/s of 12 independent Vector512 FMA chains.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static double Loop512(int iterations)
    {
        if (!Avx512F.IsSupported)
        {
            return 0;
        }

        long s = Stopwatch.GetTimestamp();
        float r = Chains512(iterations);
        double sec = (Stopwatch.GetTimestamp() - s) / (double)Stopwatch.Frequency;
        s_sink += r;
        return iterations * 12.0 * 16 * 2 / sec / 1e9;
    }

    /// <summary>No calls inside: every chain stays in a register (SysV has no callee-saved vector registers).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains512(int iterations)
    {
        Vector512<float> m = Vector512.Create(0.999999f), k = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Avx512F.FusedMultiplyAdd(a0, m, k); a1 = Avx512F.FusedMultiplyAdd(a1, m, k);
            a2 = Avx512F.FusedMultiplyAdd(a2, m, k); a3 = Avx512F.FusedMultiplyAdd(a3, m, k);
            a4 = Avx512F.FusedMultiplyAdd(a4, m, k); a5 = Avx512F.FusedMultiplyAdd(a5, m, k);
            a6 = Avx512F.FusedMultiplyAdd(a6, m, k); a7 = Avx512F.FusedMultiplyAdd(a7, m, k);
            a8 = Avx512F.FusedMultiplyAdd(a8, m, k); a9 = Avx512F.FusedMultiplyAdd(a9, m, k);
            a10 = Avx512F.FusedMultiplyAdd(a10, m, k); a11 = Avx512F.FusedMultiplyAdd(a11, m, k);
        }

        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    /// <summary>GFLOP/s of 12 independent Vector256 FMA chains.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static double Loop256(int iterations)
    {
        if (!Fma.IsSupported)
        {
            return 0;
        }

        long s = Stopwatch.GetTimestamp();
        float r = Chains256(iterations);
        double sec = (Stopwatch.GetTimestamp() - s) / (double)Stopwatch.Frequency;
        s_sink += r;
        return iterations * 12.0 * 8 * 2 / sec / 1e9;
    }

    /// <summary>No calls inside: every chain stays in a register (SysV has no callee-saved vector registers).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Chains256(int iterations)
    {
        Vector256<float> m = Vector256.Create(0.999999f), k = Vector256.Create(1e-7f);
        Vector256<float> a0 = Vector256.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (int i = 0; i < iterations; i++)
        {
            a0 = Fma.MultiplyAdd(a0, m, k); a1 = Fma.MultiplyAdd(a1, m, k);
            a2 = Fma.MultiplyAdd(a2, m, k); a3 = Fma.MultiplyAdd(a3, m, k);
            a4 = Fma.MultiplyAdd(a4, m, k); a5 = Fma.MultiplyAdd(a5, m, k);
            a6 = Fma.MultiplyAdd(a6, m, k); a7 = Fma.MultiplyAdd(a7, m, k);
            a8 = Fma.MultiplyAdd(a8, m, k); a9 = Fma.MultiplyAdd(a9, m, k);
            a10 = Fma.MultiplyAdd(a10, m, k); a11 = Fma.MultiplyAdd(a11, m, k);
        }

        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    private static float s_sink;

}

/// <summary>--profile: time per kernel kind (KernelProfiler hooks in the runtime).</summary>
internal static class Profile
{
    public static void Run(string variant, IMobileOneNetwork net, float[] input, float[] logits, int threads, int iterations, double flops)
    {
        Parallelism.MaxDegreeOfParallelism = threads;
        for (int i = 0; i < 5; i++)
        {
            net.Run(input, logits);
        }

        var times = new double[iterations];
        for (int i = 0; i < iterations; i++)
        {
            long s = Stopwatch.GetTimestamp();
            net.Run(input, logits);
            times[i] = (Stopwatch.GetTimestamp() - s) * 1000.0 / Stopwatch.Frequency;
        }

        Array.Sort(times);
        KernelProfiler.Reset();
        KernelProfiler.Enabled = true;
        for (int i = 0; i < iterations; i++)
        {
            net.Run(input, logits);
        }

        KernelProfiler.Enabled = false;
        var entries = KernelProfiler.Snapshot();
        double total = entries.Sum(e => e.Seconds) / iterations * 1000;
        Console.WriteLine($"{variant.ToUpperInvariant()}, {threads} thread(s): median {times[times.Length / 2]:F2} ms unprofiled, {flops / (times[times.Length / 2] * 1e6):F1} GFLOP/s; kernels sum to {total:F2} ms when profiled");
        Console.WriteLine("| kernel kind | calls/inference | ms/inference | share | GFLOP/s |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var e in entries)
        {
            double ms = e.Seconds / iterations * 1000;
            double gf = e.MultiplyAccumulates * 2.0 / e.Seconds / 1e9;
            Console.WriteLine($"| {e.Kind} | {e.Calls / iterations} | {ms:F3} | {100 * ms / total:F1} % | {gf:F1} |");
        }

        Console.WriteLine();
    }
}
