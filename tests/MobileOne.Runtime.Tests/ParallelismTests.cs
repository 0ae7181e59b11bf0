using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using System.Threading;
using System.Threading.Tasks;
using MobileOne.Runtime;
using Xunit;

namespace MobileOne.Runtime.Tests;

/// <summary>
/// Multi-threaded kernels give bit-identical results to one thread (every output is computed by the same
/// instructions, only on another thread), at every SIMD level, and concurrent callers stay correct.
/// </summary>
[Collection(SimdCollection.Name)]
public sealed unsafe class ParallelismTests
{
    public static IEnumerable<object[]> Threads() =>
        from level in Cases.Levels()
        from threads in new[] { 2, 3, 5 }
        select new object[] { level, threads };

    [SimdTheory]
    [MemberData(nameof(Threads))]
    public void PointwiseSplitsMatchOneThread(SimdLevel level, int threads)
    {
        // Many pixels (split by rows) and few pixels with many channels (split by output channels).
        foreach ((int pixels, int cin, int cout) in new[] { (403, 40, 72), (9, 600, 160) })
        {
            var rng = new Random(pixels + cin);
            int cinP = Data.RoundUp16(cin), coutP = Data.RoundUp16(cout);
            var x = new Native(Data.Random(rng, pixels * cinP));
            var w = new Native(Data.Random(rng, coutP * cin, 0.3f));
            var b = new Native(Data.Random(rng, coutP, 0.3f));
            float[] one = Compute(level, 1, y => PointwiseConv.Run(x.Ptr, pixels, cin, cinP, w.Ptr, b.Ptr, y, coutP, true), pixels * coutP);
            float[] many = Compute(level, threads, y => PointwiseConv.Run(x.Ptr, pixels, cin, cinP, w.Ptr, b.Ptr, y, coutP, true), pixels * coutP);
            Assert.Equal(one, many);
        }
    }

    [SimdTheory]
    [MemberData(nameof(Threads))]
    public void DepthwiseAndStemSplitsMatchOneThread(SimdLevel level, int threads)
    {
        var rng = new Random(threads);
        foreach (int stride in new[] { 1, 2 })
        {
            const int h = 37, wd = 29, cp = 48;
            int oh = ((h - 1) / stride) + 1, ow = ((wd - 1) / stride) + 1;
            var x = new Native(Data.Random(rng, h * wd * cp));
            var wt = new Native(Data.Random(rng, 9 * cp, 0.3f));
            var b = new Native(Data.Random(rng, cp, 0.3f));
            float[] one = Compute(level, 1, y => DepthwiseConv3x3.Run(x.Ptr, h, wd, cp, wt.Ptr, b.Ptr, y, oh, ow, stride, true), oh * ow * cp);
            float[] many = Compute(level, threads, y => DepthwiseConv3x3.Run(x.Ptr, h, wd, cp, wt.Ptr, b.Ptr, y, oh, ow, stride, true), oh * ow * cp);
            Assert.Equal(one, many);

            var img = new Native(Data.Random(rng, 3 * h * wd));
            var sw = new Native(Data.Random(rng, cp * 3 * 9, 0.3f));
            float[] stemOne = Compute(level, 1, y => StemConv3x3.Run(img.Ptr, 3, h, wd, sw.Ptr, b.Ptr, y, cp, oh, ow, stride, true), oh * ow * cp);
            float[] stemMany = Compute(level, threads, y => StemConv3x3.Run(img.Ptr, 3, h, wd, sw.Ptr, b.Ptr, y, cp, oh, ow, stride, true), oh * ow * cp);
            Assert.Equal(stemOne, stemMany);
        }
    }

    [SimdTheory]
    [MemberData(nameof(Threads))]
    public void LinearSplitsMatchOneThread(SimdLevel level, int threads)
    {
        // 1280 -> 1000 as in the S0-S4 heads (split in groups of four 16-output blocks), and a head too small to split.
        foreach ((int cin, int cout) in new[] { (1280, 1000), (40, 70) })
        {
            var rng = new Random(cin + cout);
            int np = Data.RoundUp16(cout);
            var x = new Native(Data.Random(rng, cin));
            var w = new Native(Data.Random(rng, np * cin, 0.3f));
            var b = new Native(Data.Random(rng, np, 0.3f));
            float[] one = Compute(level, 1, y => Linear.Run(x.Ptr, cin, w.Ptr, b.Ptr, np, y), np);
            float[] many = Compute(level, threads, y => Linear.Run(x.Ptr, cin, w.Ptr, b.Ptr, np, y), np);
            Assert.Equal(one, many);
        }
    }

    [Fact]
    public void ConcurrentCallersGetTheirOwnResults()
    {
        const int pixels = 300, cin = 64, coutP = 64;
        var rng = new Random(5);
        var w = new Native(Data.Random(rng, coutP * cin, 0.3f));
        var b = new Native(Data.Random(rng, coutP, 0.3f));
        var inputs = Enumerable.Range(0, 4).Select(i => new Native(Data.Random(new Random(i), pixels * cin))).ToArray();
        float[][] expected = inputs.Select(x => Compute(Simd.Level, 1, y => PointwiseConv.Run(x.Ptr, pixels, cin, cin, w.Ptr, b.Ptr, y, coutP, false), pixels * coutP)).ToArray();

        int previous = Parallelism.MaxDegreeOfParallelism;
        Parallelism.MaxDegreeOfParallelism = 2;
        try
        {
            Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
            {
                var y = new Native(pixels * coutP);
                for (int rep = 0; rep < 50; rep++)
                {
                    PointwiseConv.Run(inputs[i].Ptr, pixels, cin, cin, w.Ptr, b.Ptr, y.Ptr, coutP, false);
                    Assert.Equal(expected[i], y.ToArray());
                }
            });
        }
        finally
        {
            Parallelism.MaxDegreeOfParallelism = previous;
        }
    }

    [Fact]
    public void RunBatchRunsEveryImageOnce()
    {
        var net = new CountingNetwork();
        const int batch = 7;
        float[] inputs = Enumerable.Range(0, batch * net.InputLength).Select(i => (float)(i / net.InputLength)).ToArray();
        float[] logits = new float[batch * net.NumClasses];
        int previous = Parallelism.MaxDegreeOfParallelism;
        Parallelism.MaxDegreeOfParallelism = 3;
        try
        {
            Parallelism.RunBatch(net, inputs, logits, batch);
        }
        finally
        {
            Parallelism.MaxDegreeOfParallelism = previous;
        }

        Assert.Equal(batch, net.Calls);
        for (int i = 0; i < batch; i++)
        {
            Assert.Equal(new float[] { i, i + 1 }, logits.AsSpan(i * 2, 2).ToArray());
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void EveryPartRunsExactlyOnceInEveryRegion(int threads)
    {
        // Parts are claimed dynamically by the caller and the workers: over many back-to-back regions (as layers run),
        // each part of each region must run once, with the region's own part count, and never after Run returned.
        int previous = Parallelism.MaxDegreeOfParallelism;
        Parallelism.MaxDegreeOfParallelism = threads;
        try
        {
            for (int region = 0; region < 2000; region++)
            {
                int maxParts = 1 + (region % 23);
                var ctx = new CountingContext { Expected = Math.Min(maxParts, threads * Parallelism.PartsPerThread), ThrowOnPart = -1 };
                Parallelism.For(&CountPart, &ctx, maxParts);
                int parts = ctx.Expected;
                for (int p = 0; p < 64; p++)
                {
                    Assert.Equal(p < parts ? 1 : 0, Volatile.Read(ref ctx.Counts[p]));
                }

                Assert.Equal(0, ctx.WrongParts);
            }
        }
        finally
        {
            Parallelism.MaxDegreeOfParallelism = previous;
        }
    }

    [Fact]
    public void TwoThreadsSplitEveryRegionIntoAPrefixAndASuffix()
    {
        // The caller claims parts from the front, the worker from the back: each keeps a contiguous share, so the next
        // layer, split the same way, finds most of its input in the cache of the core that wrote it.
        int previous = Parallelism.MaxDegreeOfParallelism;
        Parallelism.MaxDegreeOfParallelism = 2;
        try
        {
            int caller = Environment.CurrentManagedThreadId;
            int regionsTheWorkerJoined = 0;
            for (int region = 0; region < 300; region++)
            {
                var ctx = new CountingContext { Expected = 2 * Parallelism.PartsPerThread, ThrowOnPart = -1, SlowParts = true };
                Parallelism.For(&CountPart, &ctx, 64);
                int k = 0;
                while (k < ctx.Expected && ctx.Threads[k] == caller)
                {
                    k++;
                }

                for (int p = k; p < ctx.Expected; p++)
                {
                    Assert.NotEqual(caller, ctx.Threads[p]);
                    Assert.Equal(ctx.Threads[k], ctx.Threads[p]);
                }

                regionsTheWorkerJoined += k < ctx.Expected ? 1 : 0;
            }

            Assert.True(regionsTheWorkerJoined > 0, "the worker never took a part");
        }
        finally
        {
            Parallelism.MaxDegreeOfParallelism = previous;
        }
    }

    [Fact]
    public void FewerThreadsThanThePoolHasAreRespected()
    {
        // The pool grows for a wide region; a later, narrower setting must not let the extra workers take parts.
        int previous = Parallelism.MaxDegreeOfParallelism;
        try
        {
            Parallelism.MaxDegreeOfParallelism = 4;
            var wide = new CountingContext { Expected = 4 * Parallelism.PartsPerThread, ThrowOnPart = -1 };
            Parallelism.For(&CountPart, &wide, 64);

            Parallelism.MaxDegreeOfParallelism = 2;
            var seen = new HashSet<int>();
            for (int region = 0; region < 300; region++)
            {
                var ctx = new CountingContext { Expected = 2 * Parallelism.PartsPerThread, ThrowOnPart = -1, SlowParts = true };
                Parallelism.For(&CountPart, &ctx, 64);
                Assert.Equal(0, ctx.WrongParts);
                for (int p = 0; p < ctx.Expected; p++)
                {
                    seen.Add(ctx.Threads[p]);
                }
            }

            Assert.InRange(seen.Count, 1, 2);
        }
        finally
        {
            Parallelism.MaxDegreeOfParallelism = previous;
        }
    }

    [Fact]
    public void AnExceptionInAPartReachesTheCallerAndThePoolStaysUsable()
    {
        int previous = Parallelism.MaxDegreeOfParallelism;
        Parallelism.MaxDegreeOfParallelism = 2;
        try
        {
            var ctx = new CountingContext { Expected = 2 * Parallelism.PartsPerThread, ThrowOnPart = 5 };
            InvalidOperationException? e = null;
            try
            {
                RunCounting(ref ctx, 100);
            }
            catch (InvalidOperationException caught)
            {
                e = caught;
            }

            Assert.NotNull(e);
            Assert.Equal("part 5", e.Message);

            var ok = new CountingContext { Expected = 2 * Parallelism.PartsPerThread, ThrowOnPart = -1 };
            RunCounting(ref ok, 100);
            for (int p = 0; p < ok.Expected; p++)
            {
                Assert.Equal(1, ok.Counts[p]);
            }
        }
        finally
        {
            Parallelism.MaxDegreeOfParallelism = previous;
        }
    }

    private static void RunCounting(ref CountingContext ctx, int maxParts)
    {
        fixed (CountingContext* p = &ctx)
        {
            Parallelism.For(&CountPart, p, maxParts);
        }
    }

    private static void CountPart(void* context, int part, int parts)
    {
        var c = (CountingContext*)context;
        if (parts != c->Expected || (uint)part >= (uint)parts)
        {
            Interlocked.Increment(ref c->WrongParts);
            return;
        }

        Interlocked.Increment(ref c->Counts[part]);
        c->Threads[part] = Environment.CurrentManagedThreadId;
        if (c->SlowParts)
        {
            Thread.SpinWait(2000); // long enough for every awake worker to try to claim a part
        }

        if (part == c->ThrowOnPart)
        {
            throw new InvalidOperationException("part " + part.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    private struct CountingContext
    {
        public fixed int Counts[64];
        public fixed int Threads[64];
        public bool SlowParts;
        public int Expected;
        public int WrongParts;
        public int ThrowOnPart;
    }

    [Fact]
    public void DegreeIsClamped()
    {
        int previous = Parallelism.MaxDegreeOfParallelism;
        try
        {
            Parallelism.MaxDegreeOfParallelism = 0;
            Assert.Equal(1, Parallelism.MaxDegreeOfParallelism);
            Parallelism.MaxDegreeOfParallelism = 1000;
            Assert.Equal(Parallelism.MaxThreads, Parallelism.MaxDegreeOfParallelism);
        }
        finally
        {
            Parallelism.MaxDegreeOfParallelism = previous;
        }
    }

    [Theory]
    [InlineData("3", 3)]
    [InlineData("1", 1)]
    [InlineData("0", 1)]
    [InlineData("1000", Parallelism.MaxThreads)]
    [InlineData("two", 1)]
    [InlineData(null, 1)]
    public void EnvironmentVariableSetsTheInitialDegree(string? value, int expected)
    {
        // The variable is read once, by Parallelism's static initializer: load a fresh copy of the runtime assembly in
        // its own load context (fresh statics) after setting the variable, and read the property there.
        string? previous = Environment.GetEnvironmentVariable(Parallelism.EnvironmentVariable);
        var context = new AssemblyLoadContext("MOBILEONE_THREADS test", isCollectible: true);
        try
        {
            Environment.SetEnvironmentVariable(Parallelism.EnvironmentVariable, value);
            Assembly fresh = context.LoadFromAssemblyPath(typeof(Parallelism).Assembly.Location);
            Type type = fresh.GetType(typeof(Parallelism).FullName!, throwOnError: true)!;
            Assert.NotSame(typeof(Parallelism), type);
            object? degree = type.GetProperty(nameof(Parallelism.MaxDegreeOfParallelism))!.GetValue(null);
            Assert.Equal(expected, degree);
        }
        finally
        {
            Environment.SetEnvironmentVariable(Parallelism.EnvironmentVariable, previous);
            context.Unload();
        }
    }

    private static float[] Compute(SimdLevel level, int threads, Action<IntPtrFloat> run, int length)
    {
        var y = new Native(length);
        int previous = Parallelism.MaxDegreeOfParallelism;
        Parallelism.MaxDegreeOfParallelism = threads;
        try
        {
            using (new SimdScope(level))
            {
                run(new IntPtrFloat(y.Ptr));
            }
        }
        finally
        {
            Parallelism.MaxDegreeOfParallelism = previous;
        }

        y.AssertGuardsIntact();
        return y.ToArray();
    }

    /// <summary>A float pointer that converts implicitly, so lambdas can take it (pointers cannot be generic arguments).</summary>
    private readonly struct IntPtrFloat
    {
        private readonly float* _p;

        public IntPtrFloat(float* p) => _p = p;

        public static implicit operator float*(IntPtrFloat p) => p._p;
    }

    private sealed class CountingNetwork : IMobileOneNetwork
    {
        private int _calls;

        public int InputChannels => 1;

        public int InputHeight => 2;

        public int InputWidth => 3;

        public int InputLength => 6;

        public int NumClasses => 2;

        public int Calls => _calls;

        public void Run(ReadOnlySpan<float> input, Span<float> logits)
        {
            Interlocked.Increment(ref _calls);
            logits[0] = input[0];
            logits[1] = input[5] + 1;
        }

        public void Run(ReadOnlySpan<float> inputs, Span<float> logits, int batchSize) => throw new NotSupportedException();
    }
}
