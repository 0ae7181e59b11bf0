// Same-run benchmark of the generated MobileOne classes against ONNX Runtime (issue 3).
//
//   dotnet run --project benchmarks/MobileOne.Benchmarks -c Release -- [--variants s0,s1,s2,s3,s4] [--threads 1,2]
//        [--iterations 40] [--warmup 8] [--gap-ms 5] [--ort-no-spin] [--seed 1] [--simd vector512|vector256|vector128|scalar] [--profile] [--no-int8] [--kernels]
//
// Per variant and thread count: the same random fused weights are bound to our class (Load(Stream) of a safetensors
// written in memory) and to ONNX Runtime (the test suite's ONNX graph writer, ORT_ENABLE_ALL); after a warm-up the
// two run alternately (A B A B ...). --profile instead times each kernel kind of our forward pass; --kernels times the
// kernels alone on S1's shapes (KernelBench).
// INT8 (docs/quantization.md; --no-int8 skips it): the same weights quantized (ranges from the double reference on one
// random image: the speed does not depend on the scales) are bound to our int8 class and, as the QDQ graph, to ONNX
// Runtime; four engines then alternate, and a second table gives int8 against our FP32 and against ORT's int8.
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

Console.WriteLine($"CPU: {CpuInfo.ModelName()}, {Environment.ProcessorCount} logical cores; .NET {Environment.Version}; kernels: {Simd.Level}; ONNX Runtime {typeof(InferenceSession).Assembly.GetName().Version}");
Console.WriteLine($"{CpuInfo.Signature()}; {Simd.Blocking}");
int maxThreads = options.Threads.Max();
var peaks = new Dictionary<int, (double P512, double P256)>();
foreach (int t in options.Threads.Distinct())
{
    peaks[t] = (FmaPeak.Measure(t, wide: true), FmaPeak.Measure(t, wide: false));
    Console.WriteLine($"FMA peak, {t} thread(s): Vector512 {peaks[t].P512:F1} GFLOP/s, Vector256 {peaks[t].P256:F1} GFLOP/s");
}

Console.WriteLine();
if (args.Contains("--kernels"))
{
    KernelBench.Run(peaks[options.Threads[0]].P512);
    return 0;
}

var rows = new List<string>();
var int8Rows = new List<string>();
foreach (string variant in options.Variants)
{
    var arch = MobileOneArchitecture.Preset(variant);
    var weights = FusedWeights.Random(arch, options.Seed);
    var stream = new MemoryStream();
    SafetensorsWriter.Write(stream, weights, arch, TensorNaming.Apple);
    stream.Position = 0;
    long l0 = Stopwatch.GetTimestamp();
    IMobileOneNetwork net = Networks.Load(variant, stream); // reads and packs (no warm-up: the first call below includes the JIT)
    double loadMs = Ms(Stopwatch.GetTimestamp() - l0);
    double flops = 2.0 * arch.Macs;

    float[] input = new float[arch.InputLength];
    var rng = new Random(options.Seed + 7);
    for (int i = 0; i < input.Length; i++)
    {
        input[i] = (float)((rng.NextDouble() * 2) - 1);
    }

    IMobileOneNetwork? net8 = null;
    byte[]? qdq = null;
    if (options.Int8 && !options.Profile)
    {
        var quantized = Int8TestQuantizer.Quantize(arch, weights, new[] { input });
        var int8Stream = new MemoryStream();
        quantized.WriteTo(int8Stream);
        int8Stream.Position = 0;
        net8 = Networks.LoadInt8(variant, int8Stream);
        qdq = MobileOne.Conversion.Quantization.QdqOnnxExport.Build(quantized);
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

        using var ort8 = qdq == null ? null : new InferenceSession(qdq, sessionOptions);
        using var ort8Call = ort8 == null ? null : new OrtCall(ort8, input, arch.NumClasses);
        float[] ours8 = new float[arch.NumClasses];
        for (int i = 0; i < options.Warmup && net8 != null; i++)
        {
            net8.Run(input, ours8);
            ort8Call!.Run();
        }

        var a = new double[options.Iterations];
        var b = new double[options.Iterations];
        var c = new double[options.Iterations];
        var d = new double[options.Iterations];
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
            if (net8 != null)
            {
                s = Stopwatch.GetTimestamp();
                net8.Run(input, ours8);
                c[i] = Ms(Stopwatch.GetTimestamp() - s);
                Idle(options.GapMs);
                s = Stopwatch.GetTimestamp();
                ort8Call!.Run();
                d[i] = Ms(Stopwatch.GetTimestamp() - s);
                Idle(options.GapMs);
            }
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
        if (net8 != null)
        {
            long bytes8 = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < allocCalls; i++)
            {
                net8.Run(input, ours8);
            }

            long allocated8 = (GC.GetTotalAllocatedBytes(precise: true) - bytes8) / allocCalls;
            Array.Sort(c);
            Array.Sort(d);
            double med8 = Pct(c, 0.5), ortMed8 = Pct(d, 0.5);
            double diff8 = 0, ref8 = 0, cos = 0, n1 = 0, n2 = 0;
            for (int i = 0; i < ours8.Length; i++)
            {
                diff8 = Math.Max(diff8, Math.Abs(ours8[i] - ort8Call!.Output[i]));
                ref8 = Math.Max(ref8, Math.Abs(ort8Call.Output[i]));
                cos += ours8[i] * (double)ours[i];
                n1 += ours8[i] * (double)ours8[i];
                n2 += ours[i] * (double)ours[i];
            }

            string row8 = $"| {variant.ToUpperInvariant()} | {t} | {med8,6:F2} ({Pct(c, 0.1):F2}–{Pct(c, 0.9):F2}) | {ortMed8,6:F2} ({Pct(d, 0.1):F2}–{Pct(d, 0.9):F2}) | **{med8 / med:F2}** | **{med8 / ortMed8:F2}** | {ortMed8 / ortMed:F2} | {allocated8} | {PointwiseConvInt8.Isa} | {diff8 / Math.Max(ref8, 1e-30):E1} | {cos / Math.Sqrt(n1 * n2):F4} |";
            int8Rows.Add(row8);
            Console.WriteLine(row8);
        }
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

    if (int8Rows.Count > 0)
    {
        Console.WriteLine();
        Console.WriteLine("INT8 (docs/quantization.md), same run, same input: ours int8 and ORT's int8 (the QDQ graph) alternating with the FP32 engines above.");
        Console.WriteLine("| variant | threads | ours int8 ms | ORT int8 ms | ours int8 / ours FP32 | ours int8 / ORT int8 | ORT int8 / ORT FP32 | bytes/call | pointwise ISA | max rel. diff vs ORT int8 | cosine vs our FP32 |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (string row in int8Rows)
        {
            Console.WriteLine(row);
        }
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
