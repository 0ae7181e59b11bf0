using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.OnnxRuntime;
using MobileOne.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace MobileOne.TestSupport.Tests;

public class ReferenceAgreementTests
{
    private readonly ITestOutputHelper _out;

    public ReferenceAgreementTests(ITestOutputHelper output) => _out = output;

    [Theory]
    [MemberData(nameof(ReferenceCases.All), MemberType = typeof(ReferenceCases))]
    public void DoubleReferenceAgreesWithOnnxRuntime(string name)
    {
        ReferenceCase c = ReferenceCases.Get(name);
        using var ort = OrtRunner.Create(c.Architecture, c.Weights);
        LogitComparisonResult a = LogitComparison.AssertClose(c.ReferenceA, ort.Run(c.InputA), $"{name} ORT vs double, input A");
        LogitComparisonResult b = LogitComparison.AssertClose(c.ReferenceB, ort.Run(c.InputB), $"{name} ORT vs double, input B");
        _out.WriteLine(a.Describe());
        _out.WriteLine(b.Describe());
        _out.WriteLine($"{name}: init {c.InitSeconds:F2} s, reference {c.ReferenceSeconds:F2} s per run");
    }

    [Theory]
    [MemberData(nameof(ReferenceCases.All), MemberType = typeof(ReferenceCases))]
    public void LogitsDistinguishTwoInputs(string name)
    {
        ReferenceCase c = ReferenceCases.Get(name);
        DistinguishabilityResult r = LogitComparison.AssertDistinguishable(c.ReferenceA, c.ReferenceB, name);
        _out.WriteLine(r.Describe());
        // The logits must not be dominated by the bias either: the input-dependent part is a sizeable fraction.
        Assert.True(r.Spread > 0.02 * r.MaxAbsLogit, r.Describe());
    }

    [Theory]
    [MemberData(nameof(ReferenceCases.All), MemberType = typeof(ReferenceCases))]
    public void ActivationsStayUnitScale(string name)
    {
        ReferenceCase c = ReferenceCases.Get(name);
        ReferenceTrace t = DoubleReference.Trace(c.Architecture, c.Weights, c.InputB);

        // The activations measured below are the network's: every traced layer, the pooled features and the logits
        // agree with ONNX Runtime's tensors at the same nodes of the graph (tolerance 1e-4 · max|ref| + 1e-5 each).
        Assert.Equal(c.Architecture.Layers().Count, t.Layers.Count);
        Dictionary<string, float[]> ort = OnnxNodeOutputs.Run(c.Architecture, c.Weights, c.InputB,
            t.Layers.Select(l => OnnxNodeOutputs.LayerOutput(l.Layer.Name)).Append(OnnxNodeOutputs.Pooled));
        double worstRatio = 0;
        foreach (LayerOutput l in t.Layers)
        {
            LogitComparisonResult r = LogitComparison.AssertClose(l.Output, ort[OnnxNodeOutputs.LayerOutput(l.Layer.Name)], $"{name} trace {l.Layer.Name} vs ORT");
            worstRatio = System.Math.Max(worstRatio, r.MaxAbsDiff / r.Tolerance);
        }

        LogitComparison.AssertClose(t.Pooled, ort[OnnxNodeOutputs.Pooled], $"{name} trace pooled vs ORT");
        _out.WriteLine(LogitComparison.AssertClose(t.Logits, ort[OnnxGraph.OutputName], $"{name} trace logits vs ORT").Describe());
        _out.WriteLine($"{name}: {t.Layers.Count} traced layers agree with ORT, worst |Δ|/tolerance {worstRatio:G3}");

        foreach (LayerOutput l in t.Layers)
        {
            double rms = System.Math.Sqrt(l.Output.Sum(v => v * v) / l.Output.Length);
            double active = l.Output.Count(v => v > 0) / (double)l.Output.Length;
            Assert.True(rms is > 0.1 and < 10, $"{name} {l.Layer.Name}: RMS {rms}");
            Assert.True(active is > 0.05 and < 0.95, $"{name} {l.Layer.Name}: active fraction {active}");
        }
        _out.WriteLine($"{name}: layer RMS {string.Join(" ", t.Layers.Select(l => System.Math.Sqrt(l.Output.Sum(v => v * v) / l.Output.Length).ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))}");
    }

    [Theory]
    [MemberData(nameof(ReferenceCases.Custom), MemberType = typeof(ReferenceCases))]
    public void OnnxRuntimeOptimizationLevelsAndBatchingAgree(string name)
    {
        ReferenceCase c = ReferenceCases.Get(name);
        using var plain = OrtRunner.Create(c.Architecture, c.Weights, GraphOptimizationLevel.ORT_DISABLE_ALL);
        using var opt = OrtRunner.Create(c.Architecture, c.Weights, GraphOptimizationLevel.ORT_ENABLE_ALL, intraOpThreads: 2);
        LogitComparison.AssertClose(c.ReferenceA, plain.Run(c.InputA), $"{name} ORT_DISABLE_ALL");
        float[] batch = c.InputA.Concat(c.InputB).Concat(c.InputA).ToArray();
        float[] logits = opt.RunBatch(batch, 3);
        int k = c.Architecture.NumClasses;
        Assert.Equal(3 * k, logits.Length);
        LogitComparison.AssertClose(c.ReferenceA, logits.AsSpan(0, k), $"{name} batch[0]");
        LogitComparison.AssertClose(c.ReferenceB, logits.AsSpan(k, k), $"{name} batch[1]");
        LogitComparison.AssertClose(c.ReferenceA, logits.AsSpan(2 * k, k), $"{name} batch[2]");

        using var fixedBatch = new OrtRunner(OnnxGraph.Build(c.Architecture, c.Weights, symbolicBatch: false));
        LogitComparison.AssertClose(c.ReferenceB, fixedBatch.Run(c.InputB), $"{name} fixed batch");
        Assert.Throws<System.ArgumentException>(() => fixedBatch.RunBatch(batch, 3));
    }

    [Theory]
    [InlineData("F16")]
    [InlineData("BF16")]
    public void RoundedWeightsAgreeAcrossReferences(string dtype)
    {
        ReferenceCase c = ReferenceCases.Get("odd");
        FusedWeights rounded = c.Weights.RoundedTo(dtype);
        double[] reference = DoubleReference.Run(c.Architecture, rounded, c.InputA);
        using var ort = OrtRunner.Create(c.Architecture, rounded);
        _out.WriteLine(LogitComparison.AssertClose(reference, ort.Run(c.InputA), $"odd {dtype} weights").Describe());
        // Rounding changes the logits measurably (the reference must be fed the rounded values).
        Assert.False(LogitComparison.Compare(c.ReferenceA, reference).Passed);
    }

    [Fact]
    public void RunUpToReturnsTheNamedLayer()
    {
        ReferenceCase c = ReferenceCases.Get("gray");
        ReferenceTrace t = DoubleReference.Trace(c.Architecture, c.Weights, c.InputA);

        // RunUpTo(name) and the trace's entry for name are that layer's output as ONNX Runtime computes it: the stem, a
        // pointwise layer without SE (stage1.1), one with SE (stage2.1), a stride-1 depthwise layer (stage3.2), the
        // pointwise layer after it (stage3.3, same shape) and the last layer (SE).
        string[] probes = { "stage0", "stage1.1", "stage2.1", "stage3.2", "stage3.3", "stage4.1" };
        Dictionary<string, float[]> ort = OnnxNodeOutputs.Run(c.Architecture, c.Weights, c.InputA, probes.Select(OnnxNodeOutputs.LayerOutput));
        foreach (string layer in probes)
        {
            double[] upTo = DoubleReference.RunUpTo(c.Architecture, c.Weights, c.InputA, layer);
            _out.WriteLine(LogitComparison.AssertClose(upTo, ort[OnnxNodeOutputs.LayerOutput(layer)], $"RunUpTo({layer}) vs ORT").Describe());
            LogitComparison.AssertClose(t[layer], ort[OnnxNodeOutputs.LayerOutput(layer)], $"trace[{layer}] vs ORT");
        }

        // The comparison tells neighbouring layers of the same shape apart.
        Assert.Equal(ort[OnnxNodeOutputs.LayerOutput("stage3.2")].Length, ort[OnnxNodeOutputs.LayerOutput("stage3.3")].Length);
        Assert.False(LogitComparison.Compare(DoubleReference.RunUpTo(c.Architecture, c.Weights, c.InputA, "stage3.3"), ort[OnnxNodeOutputs.LayerOutput("stage3.2")]).Passed);
        Assert.Equal(c.Architecture.Layers().Count, t.Layers.Count);
        foreach (LayerOutput l in t.Layers)
        {
            Assert.Equal(l.Layer.OutChannels * l.Layer.OutHeight * l.Layer.OutWidth, l.Output.Length);
        }

        Assert.Equal(c.Architecture.FeatureChannels, t.Pooled.Length);
        Assert.Throws<System.Collections.Generic.KeyNotFoundException>(() => DoubleReference.RunUpTo(c.Architecture, c.Weights, c.InputA, "stage9.0"));
    }

    [Fact]
    public void WeightsAreDeterministicAndSeedDependent()
    {
        MobileOneArchitecture a = ReferenceCases.Architecture("odd");
        FusedWeights w1 = FusedWeights.Random(a, 5), w2 = FusedWeights.Random(a, 5), w3 = FusedWeights.Random(a, 6);
        Assert.Equal(a.ParameterCount, w1.ParameterCount);
        Assert.All(w1.Names, n => Assert.Equal(w1[n], w2[n]));
        Assert.NotEqual(w1["stage0.reparam_conv.weight"], w3["stage0.reparam_conv.weight"]);
        Assert.Equal(TestData.RandomInput(a, 3), TestData.RandomInput(a, 3));
    }

    [Fact]
    public void ComparisonHelpersReportNumbers()
    {
        double[] reference = { 1.0, -200.0, 3.0 };
        LogitComparisonResult ok = LogitComparison.Compare(reference, new float[] { 1.0f, -200.01f, 3.0f });
        Assert.True(ok.Passed, ok.Describe());
        Assert.Equal(1e-4 * 200 + 1e-5, ok.Tolerance, 12);
        var bad = Assert.Throws<ReferenceMismatchException>(() => LogitComparison.AssertClose(reference, new float[] { 1.0f, -200.0f, 3.1f }, "probe"));
        Assert.Contains("probe", bad.Message, System.StringComparison.Ordinal);
        Assert.Contains("[2]", bad.Message, System.StringComparison.Ordinal);
        Assert.False(LogitComparison.Compare(reference, new float[] { 1, 2 }).Passed);
        Assert.False(LogitComparison.Compare(reference, new[] { 1.0f, float.NaN, 3.0f }).Passed);
        Assert.Throws<ReferenceMismatchException>(() => LogitComparison.AssertDistinguishable(reference, new[] { 1.0, -200.0, 3.1 }));
        Assert.True(LogitComparison.CheckDistinguishable(reference, new[] { 1.0, -200.0, 6.0 }).Passed);
    }
}
