using System;
using System.Collections.Generic;
using System.Linq;
using MobileOne.Conversion.Quantization;
using MobileOne.Model;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.Conversion.Tests.Quantization;

/// <summary>The quantizer end to end in the library: scales from calibration, equalization, the architecture JSON.</summary>
public class QuantizerTests
{
    [Theory]
    [InlineData(CalibrationMethod.MinMax)]
    [InlineData(CalibrationMethod.Percentile)]
    public void ActivationAndInputScalesComeFromTheCalibrationRanges(CalibrationMethod method)
    {
        MobileOneArchitecture arch = QuantizationTestData.SeArch;
        FusedNetwork net = QuantizationTestData.Network(arch, 3);
        CalibrationStatistics stats = CalibrationStatistics.Collect(new FusedForward(net), QuantizationTestData.Calibration(arch, 3, 9));
        var options = new QuantizationOptions { Method = method, Percentile = 99.9 };
        QuantizationResult r = Quantizer.Quantize(net, stats, options);
        float inputRange = method == CalibrationMethod.MinMax ? stats.Input.Max : stats.Input.Percentile(99.9);
        Assert.Equal(inputRange / 127f, r.Network.InputScale);
        Assert.Equal(inputRange, r.InputRange);
        for (int i = 0; i < r.Layers.Count; i++)
        {
            ActivationHistogram h = stats.Layers[i].Histogram;
            float range = method == CalibrationMethod.MinMax ? h.Max : h.Percentile(99.9);
            Assert.Equal(range / 255f, r.Network.Layers[i].OutputScale);
            Assert.Equal(h.Max, r.Layers[i].CalibrationMax);
            Assert.Equal(i == 0 ? r.Network.InputScale : r.Network.Layers[i - 1].OutputScale, r.Layers[i].InputScale);
            if (method == CalibrationMethod.Percentile)
            {
                Assert.True(range <= h.Max);
            }
        }

        Assert.Equal(method == CalibrationMethod.MinMax ? "minmax" : "percentile", r.Network.Method);
        Assert.Equal(method == CalibrationMethod.MinMax ? null : 99.9, r.Network.Percentile);

        // Every pointwise weight keeps the pair rule; no weight is -128.
        foreach (var (layer, shape) in r.Network.Layers.Zip(net.Architecture.Layers()))
        {
            Assert.Equal(-1, QuantizationScheme.FindOutOfRange(layer.Weight));
            if (shape.Kind == ConvLayerKind.Pointwise)
            {
                Assert.Equal((-1, -1), QuantizationScheme.FindPairOverflow(layer.Weight, shape.OutChannels, shape.InChannels));
            }
        }
    }

    [Fact]
    public void ATensorNeverPositiveInCalibrationGetsTheDocumentedRange()
    {
        Assert.Equal(Quantizer.UnseenRange / 255f, Quantizer.ActivationScale(0));
        Assert.Equal(Quantizer.UnseenRange / 127f, Quantizer.InputScale(float.NaN));
        Assert.Equal(2f / 255f, Quantizer.ActivationScale(2));
    }

    [Fact]
    public void EqualizationKeepsTheFunctionZeroesDeadChannelsAndEvensTheChannelRanges()
    {
        MobileOneArchitecture arch = QuantizationTestData.GreyArch;
        FusedWeights w = FusedWeights.Random(arch, 17);
        // Stem channel 2 never fires (bias -100); stage1.0 channel 5 is read by the next layer with weights of 300.
        w["stage0.reparam_conv.bias"][2] = -100f;
        for (int o = 0; o < 8; o++)
        {
            w["stage1.1.reparam_conv.weight"][(o * 8) + 5] *= 300f;
        }

        for (int k = 0; k < 9; k++)
        {
            w["stage1.0.reparam_conv.weight"][(5 * 9) + k] /= 300f;
        }

        w["stage1.0.reparam_conv.bias"][5] /= 300f;
        FusedNetwork net = QuantizationTestData.Network(arch, w);
        CalibrationSet data = QuantizationTestData.Calibration(arch, 4, 5);
        CalibrationStatistics stats = CalibrationStatistics.Collect(new FusedForward(net), data);
        Assert.Equal(0f, stats.Layers[0].ChannelMax[2]);

        float[][] factors = CrossLayerEqualization.Factors(net, stats);
        Assert.Equal(0f, factors[0][2]);
        FusedNetwork equalized = CrossLayerEqualization.Apply(net, factors);
        Assert.All(equalized["stage0.reparam_conv.weight"].Skip(2 * 9).Take(9).Append(equalized["stage0.reparam_conv.bias"][2]), v => Assert.Equal(0f, v));
        Assert.All(equalized["stage1.0.reparam_conv.weight"].Skip(2 * 9).Take(9), v => Assert.Equal(0f, v));

        // The same logits (ReLU commutes with a positive scale; the dead channel was 0 anyway).
        var before = new FusedForward(net);
        var after = new FusedForward(equalized);
        for (int i = 0; i < data.Count; i++)
        {
            float[] x = data[i].ToArray();
            LogitComparison.AssertClose(LogitComparison.Widen(before.Run(x)), after.Run(x), $"image {i}");
        }

        // Every channel of a non-dead tensor now reaches the same calibration maximum.
        CalibrationStatistics again = CalibrationStatistics.Collect(after, data);
        for (int l = 0; l < again.Layers.Count; l++)
        {
            float[] max = again.Layers[l].ChannelMax;
            float target = max.Max();
            Assert.All(max.Where((m, c) => factors[l][c] > 0 && factors[l][c] < CrossLayerEqualization.MaxFactor), m => Assert.Equal(target, m, target * 1e-4f));
        }

        // And the quantizer reports the zeroed channel and the factors it used.
        QuantizationResult r = Quantizer.Run(net, data);
        Assert.Equal(1, r.Layers[0].DeadChannels);
        Assert.Equal(factors[1], r.Layers[1].EqualizationFactors);
    }

    [Fact]
    public void SqueezeExciteLayersAreNotRescaled()
    {
        MobileOneArchitecture arch = QuantizationTestData.SeArch;
        FusedNetwork net = QuantizationTestData.Network(arch, 6);
        CalibrationStatistics stats = CalibrationStatistics.Collect(new FusedForward(net), QuantizationTestData.Calibration(arch, 2, 1));
        float[][] factors = CrossLayerEqualization.Factors(net, stats);
        IReadOnlyList<ConvLayer> layers = net.Architecture.Layers();
        Assert.Contains(layers, l => l.HasSe);
        for (int i = 0; i < layers.Count; i++)
        {
            if (layers[i].HasSe)
            {
                Assert.All(factors[i], f => Assert.Equal(1f, f));
            }
        }

        factors[^1][0] = 2f;
        Assert.Throws<ArgumentException>(() => CrossLayerEqualization.Apply(net, factors));
    }

    [Fact]
    public void TheSourceArchitectureJsonIsKeptVerbatimWhenItDescribesTheNetwork()
    {
        MobileOneArchitecture arch = QuantizationTestData.GreyArch;
        FusedNetwork net = QuantizationTestData.Network(arch, 2);
        CalibrationSet data = QuantizationTestData.Calibration(arch, 2, 2);
        var options = new QuantizationOptions { Equalize = false };
        string source = "{\"inputChannels\": 1, \"inputSize\": 32, \"stemChannels\": 8, \"stageChannels\": [8, 16, 16, 32], \"stageBlocks\": [1, 1, 2, 1], \"seBlocks\": [0, 0, 0, 0], \"numClasses\": 10, \"mean\": [0.5], \"std\": [0.25], \"cropPct\": 0.9}";
        QuantizationResult kept = Quantizer.Run(net, data, options, source);
        Assert.Equal(source, kept.Network.ArchitectureJson);
        Assert.Null(kept.ArchitectureNote);

        // A JSON for another input size (or none at all) is replaced by the network's own, keeping mean, std and labels.
        string other = source.Replace("\"inputSize\": 32", "\"inputSize\": 64", StringComparison.Ordinal);
        QuantizationResult rewritten = Quantizer.Run(net, data, options, other);
        Assert.Contains("\"inputSize\": [32, 32]", rewritten.Network.ArchitectureJson, StringComparison.Ordinal);
        Assert.Contains("\"mean\": [0.5]", rewritten.Network.ArchitectureJson, StringComparison.Ordinal);
        Assert.NotNull(rewritten.ArchitectureNote);
        Assert.Equal(net.Architecture.ToJson(), Quantizer.Run(net, data, options, null).Network.ArchitectureJson);
    }

    [Fact]
    public void MoreThan115InputChannelsCannotBeQuantized()
    {
        var arch = new MobileOneArchitecture(116, 32, 32, 8, new[] { 8, 8, 8, 8 }, new[] { 1, 1, 1, 1 }, new[] { 0, 0, 0, 0 }, 2);
        FusedNetwork net = QuantizationTestData.Network(arch, FusedWeights.Uniform(arch, 1));
        CalibrationStatistics stats = CalibrationStatistics.Collect(new FusedForward(net), QuantizationTestData.Calibration(arch, 1, 1));
        var e = Assert.Throws<ConversionException>(() => Quantizer.Quantize(net, stats));
        Assert.Contains("at most 115", e.Message, StringComparison.Ordinal);
    }
}
