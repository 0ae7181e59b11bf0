using System;
using System.Linq;
using MobileOne.Conversion.Quantization;
using MobileOne.Model;
using Xunit;

namespace MobileOne.Conversion.Tests.Quantization;

/// <summary>Per-channel int8 weights, the pair rule and int32 biases (docs/quantization.md, "Scheme" and "Pairs").</summary>
public class WeightQuantizationTests
{
    [Fact]
    public void EachOutputChannelGetsMaxAbsOver127AndSymmetricRoundedWeights()
    {
        var rng = new Random(5);
        const int channels = 6;
        float[] w = Enumerable.Range(0, channels * 9).Select(i => (float)((rng.NextDouble() - 0.5) * (1 + (i / 9)))).ToArray();
        float[] b = new float[channels];
        QuantizedWeights q = Quantizer.QuantizeWeights(ConvLayerKind.Depthwise, w, b, channels, channels, inputScale: 0.05f);
        for (int o = 0; o < channels; o++)
        {
            float[] row = w.AsSpan(o * 9, 9).ToArray();
            double exact = row.Max(MathF.Abs) / 127.0;
            Assert.InRange(q.Scale[o], exact, exact * (1 + 1e-6)); // the float nearest max|w|/127, never below it
            for (int k = 0; k < 9; k++)
            {
                sbyte v = q.Weight[(o * 9) + k];
                Assert.InRange((int)v, -127, 127);
                Assert.Equal(Math.Round(row[k] / (double)q.Scale[o], MidpointRounding.ToEven), v);
            }

            // The largest magnitude lands on ±127: the whole symmetric range is used.
            int at = Array.IndexOf(row, row.OrderByDescending(MathF.Abs).First());
            Assert.Equal(127, Math.Abs((int)q.Weight[(o * 9) + at]));
        }

        Assert.Equal(0, q.PairRuleChannels);
        Assert.Equal(0, q.ClampedBiases);
    }

    [Fact]
    public void ThePairRuleRaisesTheScaleOfAChannelWhosePairWouldSaturate()
    {
        // Channel 0: inputs 0 and 1 are both 1.0. At max|w|/127 they would be 127 + 127 = 254 > 128 (vpmaddubsw saturates).
        // Channel 1: a negative pair, -0.9 and -0.8. Channel 2: no pair beyond 128 steps (its scale stays max|w|/127).
        float[] w =
        {
            1.0f, 1.0f, 0.1f, -0.2f, 0.05f,
            -0.9f, -0.8f, 0.3f, 0.0f, 0.2f,
            1.0f, -1.0f, 0.0f, 0.0f, 0.5f,
        };
        float[] naive = w.Select((v, i) => v / (w.Skip(i / 5 * 5).Take(5).Max(MathF.Abs) / 127f)).ToArray();
        sbyte[] naiveQ = naive.Select(v => (sbyte)Math.Round(v)).ToArray();
        Assert.Equal((0, 0), QuantizationScheme.FindPairOverflow(naiveQ, 3, 5)); // the rule is needed here

        QuantizedWeights q = Quantizer.QuantizeWeights(ConvLayerKind.Pointwise, w, new float[3], 3, 5, inputScale: 0.1f);
        Assert.Equal((-1, -1), QuantizationScheme.FindPairOverflow(q.Weight, 3, 5));
        Assert.Equal(2, q.PairRuleChannels);
        Assert.InRange(q.Scale[0], 2.0 / 128, 2.0 / 128 * (1 + 1e-6));
        Assert.InRange(q.Scale[1], 1.7 / 128, 1.7 / 128 * (1 + 1e-6));
        Assert.InRange(q.Scale[2], 1.0 / 127, 1.0 / 127 * (1 + 1e-6));
        Assert.Equal(new sbyte[] { 64, 64, 6, -13, 3 }, q.Weight.Take(5).ToArray());
        Assert.Equal(-128, q.Weight[5] + q.Weight[6]);
        Assert.Equal(new sbyte[] { 127, -127 }, q.Weight.Skip(10).Take(2).ToArray());
    }

    [Fact]
    public void AnOddLastInputChannelPairsWithZero()
    {
        // 3 inputs: (0, 1) and (2, padding). A lone 1.0 in the last column needs no more than 127 steps.
        float[] w = { 0.1f, 0.1f, 1.0f };
        QuantizedWeights q = Quantizer.QuantizeWeights(ConvLayerKind.Pointwise, w, new float[1], 1, 3, 0.1f);
        Assert.Equal(127, q.Weight[2]);
        Assert.Equal(0, q.PairRuleChannels);
    }

    [Fact]
    public void APairStillOverAfterRoundingHasItsLargerWeightLoweredOneStep()
    {
        // 64.6 and 64.4 at scale 1 round to 65 + 64 = 129: the larger (65) goes to 64. The same for negatives; a pair of
        // opposite signs (100, -100) and a pair within the limit (100, 20) stay.
        sbyte[] row = { 64, 65, -65, -64, 100, -100, 100, 20 };
        int steps = Quantizer.LowerPairs(row);
        Assert.Equal(2, steps);
        Assert.Equal(new sbyte[] { 64, 64, -64, -64, 100, -100, 100, 20 }, row);
        Assert.Equal((-1, -1), QuantizationScheme.FindPairOverflow(row, 1, 8));

        // Two steps over: both weights lose one.
        sbyte[] two = { 65, 65 };
        Assert.Equal(2, Quantizer.LowerPairs(two));
        Assert.Equal(new sbyte[] { 64, 64 }, two);
    }

    [Theory]
    [InlineData(1.25f, 2)] // 2.5 steps: half to even
    [InlineData(1.75f, 4)] // 3.5 steps
    [InlineData(-1.25f, -2)]
    [InlineData(0.3f, 1)] // 0.6 steps
    [InlineData(1000f, 2000)]
    public void TheBiasIsRoundedHalfToEvenInUnitsOfInputTimesWeightScale(float bias, int expected)
    {
        // max|w| = 127 gives s_w = 1 exactly; s_in = 0.5: one bias step is 0.5.
        float[] w = { 127f, 0, 0, 0, 0, 0, 0, 0, 0 };
        QuantizedWeights q = Quantizer.QuantizeWeights(ConvLayerKind.Depthwise, w, new[] { bias }, 1, 1, inputScale: 0.5f);
        Assert.Equal(1f, q.Scale[0]);
        Assert.Equal(expected, q.Bias[0]);
    }

    [Fact]
    public void AnAllZeroChannelGetsAPositiveScaleThatKeepsItsBias()
    {
        float[] w = new float[2 * 9];
        w[9] = 0.5f; // channel 1 is ordinary
        float[] b = { 3f, 0f };
        QuantizedWeights q = Quantizer.QuantizeWeights(ConvLayerKind.Depthwise, w, b, 2, 2, inputScale: 0.02f);
        Assert.All(q.Scale, s => Assert.True(s > 0 && float.IsFinite(s)));
        Assert.All(q.Weight.Take(9), v => Assert.Equal(0, v));
        Assert.Equal(1, q.ZeroChannels);
        // The bias comes back within one step, and fits the float-exact range of a depthwise accumulator.
        Assert.InRange(Math.Abs(q.Bias[0]), 1, Quantizer.BiasBound(ConvLayerKind.Depthwise, 2));
        Assert.Equal(3.0, q.Bias[0] * 0.02 * q.Scale[0], 3.0 * 1e-6);

        // All zero and no bias: the documented minimum scale.
        QuantizedWeights none = Quantizer.QuantizeWeights(ConvLayerKind.Pointwise, new float[4], new float[2], 2, 2, 0.1f);
        Assert.All(none.Scale, s => Assert.Equal(Quantizer.MinWeightScale, s));
        Assert.All(none.Bias, v => Assert.Equal(0, v));
    }

    [Theory]
    [InlineData(ConvLayerKind.Stem, 3)]
    [InlineData(ConvLayerKind.Depthwise, 1)]
    [InlineData(ConvLayerKind.Pointwise, 9)]
    public void AHugeBiasRaisesTheScaleSoTheInt32BiasStaysExact(ConvLayerKind kind, int inChannels)
    {
        // Weights of 1e-4 with a bias of 1e4 at input scale 1e-3: round(b / (s_in · max|w|/127)) would be 1.27e13.
        int perChannel = kind == ConvLayerKind.Pointwise ? inChannels : kind == ConvLayerKind.Stem ? inChannels * 9 : 9;
        float[] w = Enumerable.Repeat(1e-4f, perChannel).ToArray();
        QuantizedWeights q = Quantizer.QuantizeWeights(kind, w, new[] { 1e4f }, 1, inChannels, inputScale: 1e-3f);
        int bound = Quantizer.BiasBound(kind, inChannels);
        Assert.Equal(1, q.BiasLimitedChannels);
        Assert.Equal(0, q.ClampedBiases);
        Assert.InRange(q.Bias[0], bound / 2, bound);
        Assert.Equal(1e4, q.Bias[0] * 1e-3 * q.Scale[0], 1e4 * 1e-6);
        // The stem and depthwise sums stay below 2^24 (float-exact); the pointwise bias leaves int32 room for its products.
        long products = kind == ConvLayerKind.Pointwise ? 255L * 127 * inChannels : kind == ConvLayerKind.Depthwise ? 9L * 255 * 127 : 9L * inChannels * 127 * 127;
        Assert.True(bound + products <= (kind == ConvLayerKind.Pointwise ? int.MaxValue : 1L << 24));
    }

    [Fact]
    public void NonFiniteWeightsAndBadInputScalesAreRefused()
    {
        Assert.Throws<ArgumentException>(() => Quantizer.QuantizeWeights(ConvLayerKind.Pointwise, new[] { float.NaN, 1f }, new float[1], 1, 2, 0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => Quantizer.QuantizeWeights(ConvLayerKind.Pointwise, new[] { 1f, 1f }, new float[1], 1, 2, 0f));
        Assert.Throws<ArgumentException>(() => Quantizer.QuantizeWeights(ConvLayerKind.Stem, new float[9 * 116], new float[1], 1, 116, 0.1f));
    }
}
