using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using MobileOne.Generator.Tests.Infrastructure;
using MobileOne.Runtime;
using MobileOne.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.Generator.Tests;

/// <summary>
/// The generated class, compiled and run, against two independent references: a plain double-precision
/// forward pass and ONNX Runtime running the same fused network. Tolerance: max |Δlogit| ≤ 1e-4·max|logit| + 1e-5.
/// Each case also shows that two different inputs give logits at least 100x the tolerance apart, so the
/// comparison can fail.
/// </summary>
public class EndToEndTests
{
    private readonly ITestOutputHelper _output;

    public EndToEndTests(ITestOutputHelper output) => _output = output;

    public static IEnumerable<object[]> Cases() =>
        new[] { "s0", "s1", "s2", "s3", "s4", "odd", "gray", "wide" }.Select(n => new object[] { n });

    [Theory]
    [MemberData(nameof(Cases))]
    public void GeneratedClassMatchesDoubleReferenceAndOnnxRuntime(string caseName)
    {
        NetworkCase c = NetworkCase.Get(caseName);
        using var models = new TempModels();
        string path = models.WriteWeights($"net_{caseName}.safetensors", c.Architecture, c.Weights, metadata: Metadata(c.Architecture));
        GeneratorRun run = GeneratorHarness.Run(path);
        Assert.Empty(run.GeneratorDiagnostics);
        using LoadedAssembly loaded = GeneratorHarness.CompileAndLoad(run);
        string typeName = "TestApp.Net" + char.ToUpperInvariant(caseName[0]) + caseName.Substring(1);
        IMobileOneNetwork net = loaded.Default(typeName);

        float[] a = new float[c.Architecture.NumClasses], b = new float[c.Architecture.NumClasses];
        net.Run(c.InputA, a);
        net.Run(c.InputB, b);

        var distinct = LogitComparison.AssertDistinguishable(c.ReferenceA, c.ReferenceB, caseName);
        var vsDouble = LogitComparison.AssertClose(c.ReferenceA, a, caseName + " vs double reference (input A)");
        LogitComparison.AssertClose(c.ReferenceB, b, caseName + " vs double reference (input B)");

        using OrtRunner ort = OrtRunner.Create(c.Architecture, c.Weights);
        float[] ortA = ort.Run(c.InputA);
        var vsOrt = LogitComparison.AssertClose(LogitComparison.Widen(ortA), a, caseName + " vs ONNX Runtime");
        _output.WriteLine(distinct.Describe());
        _output.WriteLine(vsDouble.Describe());
        _output.WriteLine(vsOrt.Describe());
    }

    [Theory]
    [InlineData("F16", TensorNaming.Timm)]
    [InlineData("BF16", TensorNaming.Apple)]
    [InlineData("F32", TensorNaming.Timm)]
    public void HalfPrecisionFilesAndTimmNamesAreWidenedAtLoad(string dtype, TensorNaming naming)
    {
        // The "gray" net with fixed weights and input (seed 1; NetworkCase's seed changes from process to process): how
        // far F16 rounding moves the logits depends on the weights, from 1.8x the tolerance (seed 846) to 32x (seed 9)
        // over seeds 1-1000, median 9.7x; seed 1 moves them 9.9x (F16) and 190x (BF16).
        MobileOneArchitecture arch = NetworkCase.ArchitectureOf("gray");
        FusedWeights weights = FusedWeights.Random(arch, 1);
        float[] input = TestData.RandomInput(arch, 1001);
        double[] unroundedReference = DoubleReference.Run(arch, weights, input);
        FusedWeights rounded = weights.RoundedTo(dtype);
        double[] reference = DoubleReference.Run(arch, rounded, input);
        using var models = new TempModels();
        string path = models.WriteWeights("half_net.safetensors", arch, weights, naming, dtype, Metadata(arch));
        GeneratorRun run = GeneratorHarness.Run(path);
        Assert.Empty(run.GeneratorDiagnostics);
        using LoadedAssembly loaded = GeneratorHarness.CompileAndLoad(run);
        float[] logits = new float[arch.NumClasses];
        loaded.Default("TestApp.HalfNet").Run(input, logits);
        _output.WriteLine(LogitComparison.AssertClose(reference, logits, dtype + " vs the rounded network").Describe());

        // The rounding is real and visible: the class's logits miss the unrounded (F32) network's by at least 3x the
        // tolerance, so the match above shows that it computed with the file's half-precision values (a class that
        // computed the unrounded network, within the tolerance of its reference, would then be at least 2x the
        // tolerance away from the rounded one's and fail the match). F32 rounds nothing: the references are equal.
        LogitComparisonResult unrounded = LogitComparison.Compare(unroundedReference, logits, dtype + " vs the unrounded network");
        _output.WriteLine("(must miss by >= 3x the tolerance unless F32) " + unrounded.Describe());
        if (dtype == "F32")
        {
            Assert.Equal(unroundedReference, reference);
        }
        else
        {
            Assert.True(
                unrounded.MaxAbsDiff >= 3 * unrounded.Tolerance,
                $"The {dtype} file's logits are not told apart from the unrounded network's (need max|Δ| >= 3x the tolerance), so matching the rounded reference proves nothing: {unrounded.Describe()}");
        }
    }

    [Fact]
    public void ArchitectureFileAloneGeneratesAClassBoundAtRunTime()
    {
        NetworkCase c = NetworkCase.Get("odd");
        using var models = new TempModels();
        string arch = models.WriteText("odd_net.mobileone.json", ArchitectureJson.For(c.Architecture));
        string apple = models.WriteWeights("weights_apple.safetensors", c.Architecture, c.Weights);
        string timm = models.WriteWeights("weights_timm.safetensors", c.Architecture, c.Weights, TensorNaming.Timm, "F16");
        GeneratorRun run = GeneratorHarness.Run(arch);
        Assert.Empty(run.GeneratorDiagnostics);
        string source = run.Source("OddNet.g.cs");
        Assert.DoesNotContain("Default", source, StringComparison.Ordinal);
        using LoadedAssembly loaded = GeneratorHarness.CompileAndLoad(run);

        float[] logits = new float[10];
        loaded.Load("TestApp.OddNet", apple).Run(c.InputA, logits);
        LogitComparison.AssertClose(c.ReferenceA, logits, "Load(path), Apple names");

        using FileStream stream = File.OpenRead(timm);
        var fromStream = (IMobileOneNetwork)LoadedAssembly.Invoke(loaded.Type("TestApp.OddNet").GetMethod("Load", new[] { typeof(Stream) })!, new object[] { stream });
        fromStream.Run(c.InputA, logits);
        LogitComparison.AssertClose(DoubleReference.Run(c.Architecture, c.Weights.RoundedTo("F16"), c.InputA), logits, "Load(stream), timm names, F16");
    }

    [Fact]
    public void RunTimeBindingOfAnotherArchitectureNamesTheFirstMismatchingTensor()
    {
        NetworkCase odd = NetworkCase.Get("odd");
        var other = odd.Architecture with { StageChannels = new[] { 21, 35, 50, 72 } };
        using var models = new TempModels();
        string arch = models.WriteText("odd_net.mobileone.json", ArchitectureJson.For(odd.Architecture));
        string wrong = models.WriteWeights("wrong.safetensors", other, FusedWeights.Random(other, 3));
        string truncated = models.PathOf("truncated.safetensors");
        byte[] good = File.ReadAllBytes(models.WriteWeights("good.safetensors", odd.Architecture, odd.Weights));
        File.WriteAllBytes(truncated, good.AsSpan(0, good.Length - 100).ToArray());
        using LoadedAssembly loaded = GeneratorHarness.CompileAndLoad(GeneratorHarness.Run(arch));

        var e = Assert.Throws<WeightFileException>(() => loaded.Load("TestApp.OddNet", wrong));
        Assert.Contains("stage4.1.reparam_conv.weight", e.Message, StringComparison.Ordinal);
        Assert.Contains("[72, 50, 1, 1]", e.Message, StringComparison.Ordinal);
        var t = Assert.Throws<WeightFileException>(() => loaded.Load("TestApp.OddNet", truncated));
        Assert.Contains("truncated", t.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BatchOverloadEqualsSingleImagesAndBadLengthsThrow()
    {
        NetworkCase c = NetworkCase.Get("odd");
        using var models = new TempModels();
        using LoadedAssembly loaded = CompileEmbedded(models, c, "batch_net");
        IMobileOneNetwork net = loaded.Default("TestApp.BatchNet");
        int n = c.Architecture.NumClasses, len = c.Architecture.InputLength;
        float[] inputs = new float[3 * len];
        c.InputA.CopyTo(inputs, 0);
        c.InputB.CopyTo(inputs, len);
        c.InputA.CopyTo(inputs, 2 * len);
        float[] batch = new float[3 * n], single = new float[n];
        net.Run(inputs, batch, 3);
        net.Run(c.InputB, single);
        Assert.Equal(single, batch.AsSpan(n, n).ToArray());
        Assert.Equal(batch.AsSpan(0, n).ToArray(), batch.AsSpan(2 * n, n).ToArray());

        var e1 = Assert.Throws<ArgumentException>(() => net.Run(new float[len - 1], single));
        Assert.Contains(len.ToString(System.Globalization.CultureInfo.InvariantCulture), e1.Message, StringComparison.Ordinal);
        Assert.Equal("input", e1.ParamName);
        var e2 = Assert.Throws<ArgumentException>(() => net.Run(c.InputA, new float[n + 1]));
        Assert.Equal("logits", e2.ParamName);
        Assert.Throws<ArgumentException>(() => net.Run(inputs, batch, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => net.Run(inputs, batch, -1));
    }

    [Fact]
    public void InferAllocatesNothingAfterTheFirstCallOnAThread()
    {
        NetworkCase c = NetworkCase.Get("odd");
        using var models = new TempModels();
        using LoadedAssembly loaded = CompileEmbedded(models, c, "alloc_net");
        var infer = (InferFn)Delegate.CreateDelegate(typeof(InferFn), loaded.Type("TestApp.AllocNet").GetMethod("Infer", new[] { typeof(ReadOnlySpan<float>), typeof(Span<float>) })!);
        IMobileOneNetwork net = loaded.Default("TestApp.AllocNet");
        float[] logits = new float[c.Architecture.NumClasses];
        float[] batchIn = new float[2 * c.Architecture.InputLength], batchOut = new float[2 * c.Architecture.NumClasses];

        // On a fresh thread, so the first call's scratch allocation is that thread's own.
        long warm = 0, steady = -1;
        var thread = new System.Threading.Thread(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            infer(c.InputA, logits);
            warm = GC.GetAllocatedBytesForCurrentThread() - before;
            before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 20; i++)
            {
                infer(c.InputA, logits);
                net.Run(c.InputB, logits);
                net.Run(batchIn, batchOut, 2);
            }

            steady = GC.GetAllocatedBytesForCurrentThread() - before;
        });
        thread.Start();
        thread.Join();
        _output.WriteLine($"first call allocated {warm} bytes (scratch), 60 later calls {steady} bytes");
        Assert.True(warm > 0, "the first call on a thread allocates its scratch");
        Assert.Equal(0, steady);
    }

    /// <summary>
    /// <c>Load</c> binds the weights and returns; <c>WarmUp</c> runs one inference on zeros on the calling thread (once per
    /// class), so that thread's next call has nothing left to set up (its scratch is allocated, the kernels compiled) and
    /// gives the same logits; a second <c>WarmUp</c> does nothing.
    /// </summary>
    [Fact]
    public void WarmUpLeavesNothingForTheFirstCallToDo()
    {
        NetworkCase c = NetworkCase.Get("odd");
        using var models = new TempModels();
        using LoadedAssembly loaded = CompileEmbedded(models, c, "warm_net");
        IMobileOneNetwork net = loaded.Default("TestApp.WarmNet");
        float[] warmed = new float[c.Architecture.NumClasses];
        long warmUp = -1, first = -1, again = -1;
        var thread = new System.Threading.Thread(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            net.WarmUp();
            warmUp = GC.GetAllocatedBytesForCurrentThread() - before;
            before = GC.GetAllocatedBytesForCurrentThread();
            net.Run(c.InputA, warmed);
            first = GC.GetAllocatedBytesForCurrentThread() - before;
            before = GC.GetAllocatedBytesForCurrentThread();
            net.WarmUp();
            again = GC.GetAllocatedBytesForCurrentThread() - before;
        });
        thread.Start();
        thread.Join();
        _output.WriteLine($"WarmUp allocated {warmUp} bytes, the first call after it {first}, a second WarmUp {again}");
        Assert.True(warmUp > 0, "WarmUp runs an inference (its zero input and the thread's scratch)");
        Assert.Equal(0, first);
        Assert.Equal(0, again);
        LogitComparison.AssertClose(c.ReferenceA, warmed, "logits after WarmUp");
    }

    [Fact]
    public void ConcurrentCallsGiveBitIdenticalLogits()
    {
        NetworkCase c = NetworkCase.Get("gray");
        using var models = new TempModels();
        using LoadedAssembly loaded = CompileEmbedded(models, c, "shared_net");
        IMobileOneNetwork net = loaded.Default("TestApp.SharedNet");
        float[] expectedA = new float[10], expectedB = new float[10];
        net.Run(c.InputA, expectedA);
        net.Run(c.InputB, expectedB);
        int mismatches = 0;
        System.Threading.Tasks.Parallel.For(0, 400, new System.Threading.Tasks.ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            float[] logits = new float[10];
            bool even = i % 2 == 0;
            net.Run(even ? c.InputA : c.InputB, logits);
            if (!logits.AsSpan().SequenceEqual(even ? expectedA : expectedB))
            {
                System.Threading.Interlocked.Increment(ref mismatches);
            }
        });
        Assert.Equal(0, mismatches);
    }

    [Theory]
    [InlineData("gray")]
    [InlineData("odd")]
    [InlineData("s0")]
    public void BackboneFeaturesMatchTheReferenceAtStrides8To32(string caseName)
    {
        NetworkCase c = NetworkCase.Get(caseName);
        ReferenceTrace trace = DoubleReference.Trace(c.Architecture, c.Weights, c.InputA);
        using var models = new TempModels();
        using LoadedAssembly loaded = CompileEmbedded(models, c, "backbone");
        Type type = loaded.Type("TestApp.Backbone");
        IMobileOneNetwork net = loaded.Default("TestApp.Backbone");
        var features = (RunFeaturesFn)Delegate.CreateDelegate(typeof(RunFeaturesFn), net, type.GetMethod("RunFeatures")!);

        var outputs = new Dictionary<int, float[]>();
        foreach (int stride in new[] { 8, 16, 32 })
        {
            int length = (int)type.GetField($"Stride{stride}Length")!.GetValue(null)!;
            int channels = (int)type.GetField($"Stride{stride}Channels")!.GetValue(null)!;
            int height = (int)type.GetField($"Stride{stride}Height")!.GetValue(null)!;
            Assert.Equal(c.Architecture.StageChannels[(stride / 8) switch { 1 => 1, 2 => 2, _ => 3 }], channels);
            Assert.Equal(length, channels * height * (int)type.GetField($"Stride{stride}Width")!.GetValue(null)!);
            outputs[stride] = new float[length];
        }

        float[] embedding = new float[c.Architecture.FeatureChannels];
        features(c.InputA, outputs[8], outputs[16], outputs[32], embedding);
        var layers = c.Architecture.Layers();
        string LastOf(int stage) => layers.Last(l => l.Name.StartsWith($"stage{stage}.", StringComparison.Ordinal)).Name;
        _output.WriteLine(LogitComparison.AssertClose(trace[LastOf(2)], outputs[8], "stride 8").Describe());
        _output.WriteLine(LogitComparison.AssertClose(trace[LastOf(3)], outputs[16], "stride 16").Describe());
        _output.WriteLine(LogitComparison.AssertClose(trace[LastOf(4)], outputs[32], "stride 32").Describe());
        _output.WriteLine(LogitComparison.AssertClose(trace.Pooled, embedding, "embedding").Describe());

        // Only the stride-8 map: the rest of the network is skipped, and the map is the same.
        float[] only8 = new float[outputs[8].Length];
        features(c.InputA, only8, default, default, default);
        Assert.Equal(outputs[8], only8);

        // Allocation-free after the first call on this thread, and wrong lengths say what was expected.
        long before = GC.GetAllocatedBytesForCurrentThread();
        features(c.InputA, outputs[8], outputs[16], outputs[32], embedding);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        var e = Assert.Throws<ArgumentException>(() => features(c.InputA, new float[3], default, default, default));
        Assert.Contains(outputs[8].Length.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
    }

    private static Dictionary<string, string> Metadata(MobileOneArchitecture arch) => ArchitectureJson.Metadata(arch);

    /// <summary>Writes the case's weights (architecture in the metadata) as NAME.safetensors, generates, compiles and loads the class.</summary>
    internal static LoadedAssembly CompileEmbedded(TempModels models, NetworkCase c, string name)
    {
        string path = models.WriteWeights(name + ".safetensors", c.Architecture, c.Weights, metadata: Metadata(c.Architecture));
        GeneratorRun run = GeneratorHarness.Run(path);
        Assert.Empty(run.GeneratorDiagnostics);
        return GeneratorHarness.CompileAndLoad(run);
    }

    private delegate void InferFn(ReadOnlySpan<float> input, Span<float> logits);

    private delegate void RunFeaturesFn(ReadOnlySpan<float> input, Span<float> stride8, Span<float> stride16, Span<float> stride32, Span<float> embedding);
}
