// Same-run benchmark of the generated MobileOne classes against ONNX Runtime (issue 3).
//
//   dotnet run --project benchmarks/MobileOne.Benchmarks -c Release -- [--variants s0,s1,s2,s3,s4] [--threads 1,2]
//        [--iterations 40] [--warmup 8] [--gap-ms 5] [--ort-no-spin] [--seed 1] [--simd vector512|vector256|vector128|scalar] [--profile]
//
// Per variant and thread count: the same random fused weights are bound to our class (Load(Stream) of a safetensors
// written in memory) and to ONNX Runtime (the test suite's ONNX graph writer, ORT_ENABLE_ALL); after a warm-up the
// two run alternately (A B A B ...). --profile instead times each kernel kind of our forward pass.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.Intrinsics;
using System.Threading;
using Microsoft.ML.OnnxRuntime;
using MobileOne.Benchmarks;
using MobileOne.Runtime;
using MobileOne.TestSupport;

CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var options = Options.Parse(args);
if (options.Simd is { } level)
{
    Simd.Level = level;
}

Console.WriteLine($"CPU: {CpuModel()}, {Environment.ProcessorCount} logical cores; .NET {Environment.Version}; kernels: {Simd.Level}; ONNX Runtime {typeof(InferenceSession).Assembly.GetName().Version}");
int maxThreads = options.Threads.Max();
var peaks = new Dictionary<int, (double P512, double P256)>();
foreach (int t in options.Threads.Distinct())
{
    peaks[t] = (FmaPeak.Measure(t, wide: true), FmaPeak.Measure(t, wide: false));
    Console.WriteLine($"FMA peak, {t} thread(s): Vector512 {peaks[t].P512:F1} GFLOP/s, Vector256 {peaks[t].P256:F1} GFLOP/s");
}

Console.WriteLine();
var rows = new List<string>();
foreach (string variant in options.Variants)
{
    var arch = MobileOneArchitecture.Preset(variant);
    var weights = FusedWeights.Random(arch, options.Seed);
    var stream = new MemoryStream();
    SafetensorsWriter.Write(stream, weights, arch, TensorNaming.Apple);
    stream.Position = 0;
    long l0 = Stopwatch.GetTimestamp();
    IMobileOneNetwork net = Networks.Load(variant, stream); // reads, packs, and runs one warm-up inference (JIT)
    double loadMs = Ms(Stopwatch.GetTimestamp() - l0);
    double flops = 2.0 * arch.Macs;

    float[] input = new float[arch.InputLength];
    var rng = new Random(options.Seed + 7);
    for (int i = 0; i < input.Length; i++)
    {
        input[i] = (float)((rng.NextDouble() * 2) - 1);
    }

    float[] ours = new float[arch.NumClasses];
    Parallelism.MaxDegreeOfParallelism = 1;
    long f0 = Stopwatch.GetTimestamp();
    net.Run(input, ours);
    double firstMs = Ms(Stopwatch.GetTimestamp() - f0);

    if (options.Profile)
    {
        foreach (int t in options.Threads)
        {
            Profile.Run(variant, net, input, ours, t, options.Iterations, flops);
        }

        continue;
    }

    foreach (int t in options.Threads)
    {
        Parallelism.MaxDegreeOfParallelism = t;
        using var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = t,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        if (options.OrtNoSpin)
        {
            sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        }

        using var ort = new InferenceSession(OnnxGraph.Build(arch, weights), sessionOptions);
        using var ortCall = new OrtCall(ort, input, arch.NumClasses);
        for (int i = 0; i < options.Warmup; i++)
        {
            net.Run(input, ours);
            ortCall.Run();
        }

        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(ours[i] - ortCall.Output[i]));
            maxRef = Math.Max(maxRef, Math.Abs(ortCall.Output[i]));
        }

        var a = new double[options.Iterations];
        var b = new double[options.Iterations];
        for (int i = 0; i < options.Iterations; i++)
        {
            long s = Stopwatch.GetTimestamp();
            net.Run(input, ours);
            a[i] = Ms(Stopwatch.GetTimestamp() - s);
            Idle(options.GapMs);
            s = Stopwatch.GetTimestamp();
            ortCall.Run();
            b[i] = Ms(Stopwatch.GetTimestamp() - s);
            Idle(options.GapMs);
        }

        // Allocation of our calls alone (all threads: the pool's workers included).
        long bytes0 = GC.GetTotalAllocatedBytes(precise: true);
        const int allocCalls = 10;
        for (int i = 0; i < allocCalls; i++)
        {
            net.Run(input, ours);
        }

        long allocated = (GC.GetTotalAllocatedBytes(precise: true) - bytes0) / allocCalls;
        Array.Sort(a);
        Array.Sort(b);
        double med = Pct(a, 0.5), ortMed = Pct(b, 0.5);
        double gflops = flops / (med * 1e6);
        string row = $"| {variant.ToUpperInvariant()} | {t} | {med,6:F2} ({Pct(a, 0.1):F2}–{Pct(a, 0.9):F2}) | {ortMed,6:F2} ({Pct(b, 0.1):F2}–{Pct(b, 0.9):F2}) | **{med / ortMed:F2}** | {gflops,5:F1} | {100 * gflops / peaks[t].P512,3:F0} % | {flops / (ortMed * 1e6),5:F1} | {allocated} | {(t == options.Threads[0] ? $"{firstMs:F1} ms = {firstMs / med:F1}x (load {loadMs:F0} ms)" : "")} | {maxDiff / Math.Max(maxRef, 1e-30):E1} |";
        rows.Add(row);
        Console.WriteLine(row);
    }
}

if (!options.Profile)
{
    Console.WriteLine();
    Console.WriteLine($"Median (p10–p90) ms of {options.Iterations} alternating runs after {options.Warmup} warm-up runs, {options.GapMs} ms idle between calls; batch 1, 224x224. % peak = our GFLOP/s over the Vector512 FMA peak of the same thread count, measured above.");
    Console.WriteLine("| variant | threads | ours ms | ORT ms | ours/ORT | ours GFLOP/s | % peak | ORT GFLOP/s | bytes/call | first call (Load before it) | max rel. diff |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
    foreach (string row in rows)
    {
        Console.WriteLine(row);
    }
}

return 0;

// Both engines' worker threads spin for a while after a call (ORT's intra-op pool for up to milliseconds); an idle
// gap between calls keeps one engine's spinning threads from stealing the other's cores.
static void Idle(int ms)
{
    if (ms > 0)
    {
        Thread.Sleep(ms);
    }
}

static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

static double Pct(double[] sorted, double p)
{
    double idx = p * (sorted.Length - 1);
    int lo = (int)Math.Floor(idx);
    int hi = Math.Min(lo + 1, sorted.Length - 1);
    return sorted[lo] + ((sorted[hi] - sorted[lo]) * (idx - lo));
}

static string CpuModel()
{
    try
    {
        string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
        if (line != null)
        {
            return line[(line.IndexOf(':') + 1)..].Trim();
        }
    }
    catch (IOException)
    {
    }
    catch (UnauthorizedAccessException)
    {
    }

    return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
}
