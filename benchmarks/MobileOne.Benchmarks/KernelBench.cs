// --kernels: each kernel alone on S1's shapes (one thread), the way docs/performance.md's Xeon section measured them.
using System;
using System.Diagnostics;
using System.Runtime.InteropServices;
using MobileOne.Runtime;

namespace MobileOne.Benchmarks;

/// <summary>
/// Kernel-alone timings: pointwise on S1's seven shapes with warm weights (the same weights every call) and cold weights
/// (a new copy each call, 24 MB of copies, so every call reads its weights from L3, as inside a network), the depthwise
/// layers and the stem. Median of 31 samples; GFLOP/s = 2 x MACs.
/// </summary>
internal static unsafe class KernelBench
{
    public static void Run(double peak)
    {
        Parallelism.MaxDegreeOfParallelism = 1;
        Console.WriteLine($"Kernels alone, one thread, FMA peak {peak:F1} GFLOP/s (median of 31 samples)");
        Console.WriteLine("| kernel | shape | warm GFLOP/s | warm % peak | cold GFLOP/s | cold % peak |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var (p, cin, cout) in new[] { (3136, 64, 96), (3136, 96, 96), (784, 96, 192), (784, 192, 192), (196, 192, 512), (196, 512, 512), (49, 512, 1280) })
        {
            int cinP = (cin + 15) / 16 * 16;
            long wFloats = (long)cout * cin;
            int copies = (int)Math.Max(2, 24L * 1024 * 1024 / (wFloats * 4));
            float* x = Alloc(p * cinP), w = Alloc(wFloats * copies), b = Alloc(cout), y = Alloc((long)p * cout);
            Fill(x, p * cinP);
            Fill(w, wFloats * copies);
            double flops = 2.0 * p * cin * cout;
            double warm = Time(flops, _ => PointwiseConv.Run(x, p, cin, cinP, w, b, y, cout, true));
            double cold = Time(flops, i => PointwiseConv.Run(x, p, cin, cinP, w + ((i % copies) * wFloats), b, y, cout, true));
            Console.WriteLine($"| pointwise | {p} px {cin}->{cout} | {flops / warm / 1e9:F1} | {100 * flops / warm / 1e9 / peak:F0} % | {flops / cold / 1e9:F1} | {100 * flops / cold / 1e9 / peak:F0} % |");
            Free(x, w, b, y);
        }

        foreach (var (h, c, s) in new[] { (112, 64, 2), (56, 96, 2), (28, 192, 2), (14, 512, 2), (56, 96, 1), (28, 192, 1), (14, 512, 1) })
        {
            int oh = ((h + 2 - 3) / s) + 1;
            float* x = Alloc((long)h * h * c), w = Alloc(9 * c), b = Alloc(c), y = Alloc((long)oh * oh * c);
            Fill(x, (long)h * h * c);
            Fill(w, 9 * c);
            double flops = 2.0 * oh * oh * c * 9;
            double t = Time(flops, _ => DepthwiseConv3x3.Run(x, h, h, c, w, b, y, oh, oh, s, true));
            Console.WriteLine($"| depthwise s{s} | {h}x{h}x{c} | {flops / t / 1e9:F1} | {100 * flops / t / 1e9 / peak:F0} % | | |");
            Free(x, w, b, y);
        }

        foreach (int c in new[] { 48, 64 })
        {
            float* x = Alloc(3 * 224 * 224), w = Alloc(c * 27), b = Alloc(c), y = Alloc(112L * 112 * c);
            Fill(x, 3 * 224 * 224);
            Fill(w, c * 27);
            double flops = 2.0 * 112 * 112 * c * 27;
            double t = Time(flops, _ => StemConv3x3.Run(x, 3, 224, 224, w, b, y, c, 112, 112, 2, true));
            Console.WriteLine($"| stem | 3->{c}, 224->112 | {flops / t / 1e9:F1} | {100 * flops / t / 1e9 / peak:F0} % | | |");
            Free(x, w, b, y);
        }
    }

    private static double Time(double flops, Action<long> call)
    {
        int reps = (int)Math.Max(4, 2e8 / flops);
        long n = 0;
        for (int i = 0; i < reps; i++)
        {
            call(n++);
        }

        var t = new double[31];
        for (int r = 0; r < t.Length; r++)
        {
            long s = Stopwatch.GetTimestamp();
            for (int i = 0; i < reps; i++)
            {
                call(n++);
            }

            t[r] = (Stopwatch.GetTimestamp() - s) / (double)Stopwatch.Frequency / reps;
        }

        Array.Sort(t);
        return t[t.Length / 2];
    }

    private static float* Alloc(long floats)
    {
        var p = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
        NativeMemory.Clear(p, (nuint)(floats * sizeof(float)));
        return p;
    }

    private static void Fill(float* p, long n)
    {
        var rng = new Random(1);
        for (long i = 0; i < n; i++)
        {
            p[i] = (float)(rng.NextDouble() - 0.5);
        }
    }

    private static void Free(params nint[] ps)
    {
        foreach (nint p in ps)
        {
            NativeMemory.AlignedFree((void*)p);
        }
    }

    private static void Free(float* a, float* b, float* c, float* d) => Free((nint)a, (nint)b, (nint)c, (nint)d);
}
