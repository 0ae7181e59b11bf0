using System;
using System.Collections.Generic;
using System.Linq;
using MobileOne.Conversion.Quantization;
using MobileOne.TestSupport;
using Xunit;

namespace MobileOne.Conversion.Tests.Quantization;

/// <summary>MinMax and percentile statistics (<see cref="ActivationHistogram"/>) and their collection over a network.</summary>
public class CalibrationStatisticsTests
{
    [Fact]
    public void MinMaxIsTheLargestMagnitude()
    {
        var h = new ActivationHistogram();
        h.Add(new[] { -3f, 1f, 2f });
        h.Add(new[] { 0.5f, -2.5f });
        Assert.Equal(3f, h.Max);
        Assert.Equal(5, h.Count);
        Assert.Equal(3f, h.Range(CalibrationMethod.MinMax, 99.99));
    }

    [Theory]
    [InlineData(50.0, 0.5)]
    [InlineData(99.0, 0.99)]
    [InlineData(99.9, 0.999)]
    public void ThePercentileOfUniformValuesIsThatFractionOfTheRange(double percentile, double expected)
    {
        // 0.0001, 0.0002, …, 1.0 (10,000 values) in two batches; bins of 1/4096.
        float[] values = Enumerable.Range(1, 10_000).Select(i => i / 10_000f).ToArray();
        var h = new ActivationHistogram();
        h.Add(values.AsSpan(0, 5000));
        h.Add(values.AsSpan(5000));
        Assert.Equal(1.0 / ActivationHistogram.Bins, h.BinWidth, 1e-12);
        // The upper edge of the bin where the cumulative count reaches the percentile: at most one bin above the exact value.
        Assert.InRange(h.Percentile(percentile), expected, expected + h.BinWidth + 1e-6);
        Assert.Equal(1f, h.Percentile(100));
    }

    [Fact]
    public void APercentileIgnoresARareOutlierThatMinMaxKeeps()
    {
        // 9,999 values of 1 and one of 100: 99.99 % of the values are 1; 99.999 % needs the outlier.
        var h = new ActivationHistogram();
        h.Add(Enumerable.Repeat(1f, 9_999).Append(100f).ToArray());
        Assert.Equal(100f, h.Max);
        Assert.InRange(h.Percentile(99.99), 1f, 1f + h.BinWidth);
        Assert.Equal(100f, h.Percentile(99.999));
        Assert.Equal(100f, h.Range(CalibrationMethod.MinMax, 99.99));
        Assert.InRange(h.Range(CalibrationMethod.Percentile, 99.99), 1f, 1.1f);
    }

    [Fact]
    public void ZerosCountAndALaterLargerBatchWidensTheBinsWithoutLosingCounts()
    {
        var h = new ActivationHistogram();
        h.Add(new float[1000]); // ReLU zeros before anything positive
        Assert.Equal(0, h.BinWidth);
        Assert.Equal(0f, h.Percentile(99.99));
        h.Add(new[] { 1f, 1f });
        double first = h.BinWidth;
        h.Add(new[] { 1000f });
        Assert.True(h.BinWidth >= 1000.0 / ActivationHistogram.Bins && h.BinWidth < 2000.0 / ActivationHistogram.Bins, $"width {h.BinWidth}");
        Assert.Equal(first * Math.Pow(2, Math.Round(Math.Log2(h.BinWidth / first))), h.BinWidth); // doubled, not re-binned
        Assert.Equal(1003, h.Count);
        // Width 1/4096 became 1/4: the 1s moved from the last bin (4095) to 4095 >> 10 = 3; 1000 is in bin 4000.
        Assert.Equal(1000, h[0]);
        Assert.Equal(2, h[3]);
        Assert.Equal(1, h[4000]);
        Assert.Equal(1003, Enumerable.Range(0, ActivationHistogram.Bins).Sum(i => h[i]));
        Assert.Equal(1000f, h.Percentile(100));
    }

    [Fact]
    public void NonFiniteValuesAndBadPercentilesAreRefused()
    {
        var h = new ActivationHistogram();
        Assert.Throws<ArgumentException>(() => h.Add(Enumerable.Repeat(1f, 20).Append(float.NaN).ToArray()));
        Assert.Throws<ArgumentException>(() => h.Add(new[] { float.PositiveInfinity }));
        Assert.Throws<ArgumentOutOfRangeException>(() => h.Percentile(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => h.Percentile(100.5));
    }

    [Fact]
    public void CollectMeasuresTheInputAndEveryLayerOutputOfTheNetwork()
    {
        MobileOneArchitecture arch = QuantizationTestData.SeArch;
        var weights = FusedWeights.Random(arch, 21);
        var forward = new FusedForward(QuantizationTestData.Network(arch, weights));
        CalibrationSet data = QuantizationTestData.Calibration(arch, 5, 3);
        CalibrationStatistics stats = CalibrationStatistics.Collect(forward, data);

        Assert.Equal(5, stats.Images);
        float inputMax = Enumerable.Range(0, 5).Max(i => data[i].ToArray().Max(MathF.Abs));
        Assert.Equal(inputMax, stats.Input.Max);
        Assert.Equal(5L * arch.InputLength, stats.Input.Count);

        // Independent values: the double reference's post-ReLU (post-SE) outputs, max per layer and per channel.
        var traces = Enumerable.Range(0, 5).Select(i => DoubleReference.Trace(arch, weights, data[i].ToArray())).ToArray();
        IReadOnlyList<LayerInfo> layers = arch.Layers();
        for (int l = 0; l < layers.Count; l++)
        {
            LayerInfo info = layers[l];
            int pixels = info.OutHeight * info.OutWidth;
            double max = traces.Max(t => t.Layers[l].Output.Max());
            ActivationHistogram h = stats[info.Name];
            Assert.Equal(max, h.Max, max * 1e-4);
            Assert.Equal(5L * pixels * info.OutChannels, h.Count);
            for (int c = 0; c < info.OutChannels; c++)
            {
                double channelMax = traces.Max(t => t.Layers[l].Output.Skip(c * pixels).Take(pixels).Max());
                Assert.Equal(channelMax, stats.Layers[l].ChannelMax[c], (max * 1e-4) + 1e-6);
            }
        }

        // Deterministic: a second collection gives the same histograms, bin for bin.
        CalibrationStatistics again = CalibrationStatistics.Collect(forward, data);
        for (int l = 0; l < layers.Count; l++)
        {
            Assert.Equal(stats.Layers[l].Histogram.Max, again.Layers[l].Histogram.Max);
            Assert.True(Enumerable.Range(0, ActivationHistogram.Bins).All(b => stats.Layers[l].Histogram[b] == again.Layers[l].Histogram[b]));
        }
    }

    [Fact]
    public void CollectRefusesImagesOfAnotherSize()
    {
        var forward = new FusedForward(QuantizationTestData.Network(QuantizationTestData.GreyArch, 1));
        CalibrationSet wrong = QuantizationTestData.Calibration(QuantizationTestData.SeArch, 1, 1);
        var e = Assert.Throws<ArgumentException>(() => CalibrationStatistics.Collect(forward, wrong));
        Assert.Contains("1x32x32", e.Message, StringComparison.Ordinal);
    }
}
