using System;
using System.Collections.Generic;
using System.Linq;
using MobileOne.Conversion.Quantization;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.Conversion.Tests.Quantization;

/// <summary>
/// The FP32 forward the quantizer calibrates with, against the double-precision reference (tests/MobileOne.TestSupport,
/// <see cref="DoubleReference"/>): every layer output and the logits within 1e-4 of the layer's largest value (plus 1e-5;
/// <see cref="LogitComparison.ToleranceFor"/>). Float accumulation over at most a few hundred terms is ~1e-6 relative.
/// </summary>
public class FusedForwardTests
{
    public static IEnumerable<object[]> Architectures()
    {
        yield return new object[] { "se", QuantizationTestData.SeArch };
        yield return new object[] { "grey", QuantizationTestData.GreyArch };
        // Odd sizes (33x35: stride-2 borders on one side only) and widths below a vector.
        yield return new object[] { "odd", new MobileOneArchitecture(2, 33, 35, 5, new[] { 7, 9, 11, 13 }, new[] { 1, 1, 2, 1 }, new[] { 0, 0, 1, 0 }, 3) };
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void EveryLayerOutputAndTheLogitsMatchTheDoubleReference(string name, MobileOneArchitecture arch)
    {
        FusedWeights weights = FusedWeights.Random(arch, TestData.StableSeed(name));
        var forward = new FusedForward(QuantizationTestData.Network(arch, weights));
        float[] input = TestData.RandomInput(arch, 7);
        ReferenceTrace reference = DoubleReference.Trace(arch, weights, input);
        float[][] layers = forward.Trace(input);
        Assert.Equal(reference.Layers.Count, layers.Length);
        for (int i = 0; i < layers.Length; i++)
        {
            LayerInfo l = reference.Layers[i].Layer;
            float[] chw = FusedForward.ToChw(layers[i], l.OutChannels, l.OutHeight, l.OutWidth);
            double[] expected = reference.Layers[i].Output;
            double tolerance = LogitComparison.ToleranceFor(expected.Max(Math.Abs));
            int worst = Enumerable.Range(0, chw.Length).MaxBy(k => Math.Abs(chw[k] - expected[k]));
            Assert.True(Math.Abs(chw[worst] - expected[worst]) <= tolerance,
                $"{name} {l.Name}: value {worst} is {chw[worst]}, the reference {expected[worst]} (tolerance {tolerance})");
        }

        LogitComparison.AssertClose(reference.Logits, forward.Run(input), $"{name} logits");
    }

    [Fact]
    public void ABatchRunsInParallelAndGivesTheSameBitsAsOneImageAtATime()
    {
        MobileOneArchitecture arch = QuantizationTestData.SeArch;
        var forward = new FusedForward(QuantizationTestData.Network(arch, 4));
        const int count = 6;
        float[] inputs = TestData.RandomBatch(arch, count, 11);
        float[] batch = forward.RunBatch(inputs, count);
        for (int n = 0; n < count; n++)
        {
            float[] one = forward.Run(inputs.AsSpan(n * arch.InputLength, arch.InputLength).ToArray());
            Assert.Equal(one, batch.AsSpan(n * arch.NumClasses, arch.NumClasses).ToArray());
        }
    }

    [Fact]
    public void WrongLengthsAreRefusedWithTheExpectedSize()
    {
        var forward = new FusedForward(QuantizationTestData.Network(QuantizationTestData.GreyArch, 2));
        var e = Assert.Throws<ArgumentException>(() => forward.Run(new float[10]));
        Assert.Contains("1024 floats (CHW 1x32x32)", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => forward.Run(new float[1024], new float[10], new float[2][]));
    }
}
