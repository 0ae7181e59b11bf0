using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Reflection;
using System.Threading;
using MobileOne.Generator.Tests.Infrastructure;
using MobileOne.Runtime;
using MobileOne.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Generator.Tests;

/// <summary>
/// Tests that change process-wide runtime settings (<see cref="Parallelism.MaxDegreeOfParallelism"/>) run alone, so
/// that no other test's inference sees the change and no other test changes <see cref="Simd.Level"/> under them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideSettingsCollection
{
    public const string Name = "Process-wide runtime settings";
}

/// <summary>
/// Bit-exact determinism of the generated code: many threads calling the static <c>Infer</c> of one class at once give
/// the logits of a single-threaded run, bit for bit; so do 1 to 4 threads per inference
/// (<see cref="Parallelism.MaxDegreeOfParallelism"/>, which <c>MOBILEONE_THREADS</c> initialises), batches split across
/// threads, repeated runs, and a second, independently compiled and loaded copy of the class. Logits are compared as
/// their IEEE bit patterns (so -0 differs from +0 and NaNs are compared exactly). Different
/// <see cref="Simd.Level"/>s are not bit-exact with each other (see docs/security.md#concurrency-and-determinism).
/// </summary>
[Collection(ProcessWideSettingsCollection.Name)]
public class DeterminismTests
{
    /// <summary>Calls made by the concurrent test, all threads together.</summary>
    public const int ConcurrentCalls = 10_000;

    private readonly ITestOutputHelper _output;

    public DeterminismTests(ITestOutputHelper output) => _output = output;

    private delegate void InferFn(ReadOnlySpan<float> input, Span<float> logits);

    /// <summary>64x64 RGB, a 32-channel stem: small (about 2 M multiply-adds) but its first layers split across threads.</summary>
    public static MobileOneArchitecture SplitNet { get; } = new(3, 64, 64, 32, new[] { 32, 32, 48, 64 }, new[] { 1, 1, 1, 1 }, new[] { 0, 0, 0, 1 }, 10);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void TenThousandConcurrentCallsMatchASingleThreadedRunBitForBit(int degree)
    {
        // Degree 2: one caller at a time takes the worker pool and splits the stem and the first stage across two
        // threads, the others run alone at the same time; both paths must give the same bits.
        MobileOneArchitecture arch = SplitNet;
        using var models = new TempModels();
        using LoadedAssembly loaded = Compile(models, arch, FusedWeights.Random(arch, 77), "concurrent_net");
        InferFn infer = Infer(loaded, "TestApp.ConcurrentNet");
        float[][] inputs = Inputs(arch, 8);
        int[][] expected = WithDegree(1, () => inputs.Select(x => Bits(Run(infer, x, arch.NumClasses))).ToArray());
        Assert.NotEqual(expected[0], expected[1]); // the inputs are told apart, so a mix-up would show

        // Layers one inference splits across the pool when it has the pool to itself.
        long perCall = WithDegree(degree, () =>
        {
            long before = PoolRegions();
            Run(infer, inputs[0], arch.NumClasses);
            return PoolRegions() - before;
        });

        const int threads = 8;
        int mismatches = 0, calls = 0;
        string? firstMismatch = null;
        var start = new Barrier(threads);
        long regionsBefore = PoolRegions();
        var watch = Stopwatch.StartNew();
        WithDegree(degree, () =>
        {
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
            {
                float[] logits = new float[arch.NumClasses];
                start.SignalAndWait();
                for (int k = 0; k < ConcurrentCalls / threads; k++)
                {
                    int which = (k + t) % inputs.Length;
                    infer(inputs[which], logits);
                    Interlocked.Increment(ref calls);
                    if (!Bits(logits).AsSpan().SequenceEqual(expected[which]))
                    {
                        Interlocked.Increment(ref mismatches);
                        Interlocked.CompareExchange(ref firstMismatch, $"thread {t}, call {k}, input {which}", null);
                    }
                }
            })).ToList();
            workers.ForEach(w => w.Start());
            workers.ForEach(w => w.Join());
            return 0;
        });

        long regions = PoolRegions() - regionsBefore;
        _output.WriteLine($"{calls} calls on {threads} threads (MaxDegreeOfParallelism {degree}) in {watch.Elapsed.TotalSeconds:F2} s, {mismatches} mismatches; {regions} layers split across the worker pool ({perCall} per call when a call has the pool to itself)");
        Assert.Equal(ConcurrentCalls, calls);
        if (degree > 1)
        {
            // Both paths were taken, as the pool itself counts them during this test: some calls split their layers
            // across the pool, and the others ran (some of) theirs alone, or every call would have split all of them.
            Assert.True(perCall > 0, $"With {degree} threads per inference, one call alone split no layer across the worker pool.");
            Assert.True(regions > 0, $"With {degree} threads per inference, none of the {calls} concurrent calls split a layer across the worker pool.");
            Assert.True(regions < perCall * calls, $"All {calls} concurrent calls split all their {perCall} layers: none ran alone.");
        }
        else
        {
            Assert.True(perCall + regions == 0, $"With one thread per inference {perCall + regions} layers still went through the worker pool.");
        }

        Assert.True(mismatches == 0, $"{mismatches} of {calls} calls differ from the single-threaded logits, first: {firstMismatch}");
    }

    [Fact]
    public void ThreadsPerInferenceAndBatchSplitsGiveBitIdenticalLogits()
    {
        // A net large enough that every kernel splits its rows or channels across the pool's threads.
        NetworkCase c = NetworkCase.Get("wide");
        using var models = new TempModels();
        using LoadedAssembly loaded = Compile(models, c, "threads_net");
        InferFn infer = Infer(loaded, "TestApp.ThreadsNet");
        IMobileOneNetwork net = loaded.Default("TestApp.ThreadsNet");
        int n = c.Architecture.NumClasses;
        float[][] inputs = Inputs(c.Architecture, 3);
        int[][] expected = WithDegree(1, () => inputs.Select(x => Bits(Run(infer, x, n))).ToArray());
        LogitComparison.AssertClose(c.ReferenceA, Run(infer, c.InputA, n), "wide, one thread"); // the bits compared are right ones

        float[] batch = inputs.SelectMany(x => x).ToArray();
        foreach (int degree in new[] { 2, 3, 4, 1 })
        {
            WithDegree(degree, () =>
            {
                // The pool really split this degree's work: it counts the regions it runs (one per split layer, one per
                // split batch), read before and after, so no earlier test can stand in for it.
                long before = PoolRegions();
                for (int i = 0; i < inputs.Length; i++)
                {
                    Assert.True(Bits(Run(infer, inputs[i], n)).AsSpan().SequenceEqual(expected[i]), $"input {i} with {degree} threads per inference");
                }

                long layerRegions = PoolRegions() - before;
                float[] logits = new float[inputs.Length * n];
                net.Run(batch, logits, inputs.Length);
                for (int i = 0; i < inputs.Length; i++)
                {
                    Assert.True(Bits(logits.AsSpan(i * n, n).ToArray()).AsSpan().SequenceEqual(expected[i]), $"batch image {i} with {degree} threads");
                }

                long batchRegions = PoolRegions() - before - layerRegions;
                _output.WriteLine($"{degree} threads: {layerRegions} split layers in {inputs.Length} inferences, {batchRegions} split batch");
                if (degree > 1)
                {
                    Assert.True(layerRegions >= inputs.Length, $"{degree} threads per inference: only {layerRegions} layers split in {inputs.Length} inferences.");
                    Assert.True(batchRegions == 1, $"{degree} threads: the batch of {inputs.Length} ran in {batchRegions} pool regions, expected one split batch.");
                }
                else
                {
                    Assert.True(layerRegions + batchRegions == 0, $"One thread: {layerRegions + batchRegions} regions still went through the worker pool.");
                }

                return 0;
            });
        }
    }

    [Fact]
    public void RepeatedRunsAndASecondlyLoadedCopyGiveBitIdenticalLogits()
    {
        NetworkCase c = NetworkCase.Get("odd");
        int n = c.Architecture.NumClasses;
        float[][] inputs = Inputs(c.Architecture, 4);
        var runs = new List<int[][]>();
        for (int copy = 0; copy < 2; copy++)
        {
            // Each copy is generated, compiled and loaded into its own context: its weights are read and packed anew.
            using var models = new TempModels();
            using LoadedAssembly loaded = Compile(models, c, "runs_net");
            InferFn infer = Infer(loaded, "TestApp.RunsNet");
            for (int run = 0; run < 3; run++)
            {
                runs.Add(WithDegree(1, () => inputs.Select(x => Bits(Run(infer, x, n))).ToArray()));
            }
        }

        for (int r = 1; r < runs.Count; r++)
        {
            for (int i = 0; i < inputs.Length; i++)
            {
                Assert.True(runs[r][i].AsSpan().SequenceEqual(runs[0][i]), $"run {r}, input {i}");
            }
        }
    }

    private static LoadedAssembly Compile(TempModels models, NetworkCase c, string name) => Compile(models, c.Architecture, c.Weights, name);

    private static LoadedAssembly Compile(TempModels models, MobileOneArchitecture arch, FusedWeights weights, string name)
    {
        string path = models.WriteWeights(name + ".safetensors", arch, weights, metadata: ArchitectureJson.Metadata(arch));
        GeneratorRun run = GeneratorHarness.Run(path);
        Assert.Empty(run.GeneratorDiagnostics);
        return GeneratorHarness.CompileAndLoad(run);
    }

    private static InferFn Infer(LoadedAssembly loaded, string type) =>
        (InferFn)Delegate.CreateDelegate(typeof(InferFn), loaded.Type(type).GetMethod("Infer", new[] { typeof(ReadOnlySpan<float>), typeof(Span<float>) })!);

    private static float[][] Inputs(MobileOneArchitecture arch, int count) =>
        Enumerable.Range(0, count).Select(i => TestData.RandomInput(arch, 500 + i)).ToArray();

    private static float[] Run(InferFn infer, float[] input, int classes)
    {
        float[] logits = new float[classes];
        infer(input, logits);
        return logits;
    }

    /// <summary>
    /// Parallel regions the process-wide worker pool has run so far (0 before it exists): its generation counter, the
    /// upper half of its private state word, which every <c>WorkerPool.Run</c> increments.
    /// </summary>
    private static long PoolRegions()
    {
        WorkerPool? pool = WorkerPool.Shared;
        if (pool == null)
        {
            return 0;
        }

        FieldInfo? state = typeof(WorkerPool).GetField("_state", BindingFlags.NonPublic | BindingFlags.Instance);
        Assert.True(state?.FieldType == typeof(long), "WorkerPool no longer keeps its generation in a long _state field; update PoolRegions.");
        return (uint)((long)state!.GetValue(pool)! >> 32);
    }

    private static int[] Bits(float[] values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();

    private static T WithDegree<T>(int degree, Func<T> body)
    {
        int saved = Parallelism.MaxDegreeOfParallelism;
        Parallelism.MaxDegreeOfParallelism = degree;
        try
        {
            return body();
        }
        finally
        {
            Parallelism.MaxDegreeOfParallelism = saved;
        }
    }

    /// <summary>
    /// Every SIMD path against the reference. <see cref="Simd.Level"/> is process-wide, so this runs in this collection:
    /// a test comparing two runs bit for bit (the backbone's stride-8 map alone and with the rest, say) must not see the
    /// level change between them.
    /// </summary>
    [Fact]
    public void EverySimdPathMatchesTheReference()
    {
        NetworkCase c = NetworkCase.Get("gray");
        using var models = new TempModels();
        using LoadedAssembly loaded = EndToEndTests.CompileEmbedded(models, c, "simd_net");
        IMobileOneNetwork net = loaded.Default("TestApp.SimdNet");
        SimdLevel saved = Simd.Level;
        try
        {
            for (SimdLevel level = SimdLevel.Scalar; level <= Simd.Best; level++)
            {
                Simd.Level = level;
                float[] logits = new float[10];
                net.Run(c.InputA, logits);
                _output.WriteLine(LogitComparison.AssertClose(c.ReferenceA, logits, level.ToString()).Describe());
            }
        }
        finally
        {
            Simd.Level = saved;
        }
    }
}
