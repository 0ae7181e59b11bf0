using System;
using System.Collections.Generic;
using MobileOne.Runtime;
using Xunit;

namespace MobileOne.Runtime.Tests;

[Collection(SimdCollection.Name)]
public sealed unsafe class SqueezeExciteTests
{
    public static IEnumerable<object[]> Shapes() => Cases.WithLevels(new[]
    {
        // h, w, channels, reduced, relu
        new object[] { 1, 1, 1, 1, true },
        new object[] { 3, 3, 3, 1, false },
        new object[] { 7, 7, 13, 4, true },
        new object[] { 1, 7, 16, 4, true },
        new object[] { 2, 2, 48, 12, false },
        new object[] { 7, 7, 70, 17, true },
        new object[] { 1, 1, 70, 3, false },
        new object[] { 9, 5, 48, 16, true },
    });

    [SimdTheory]
    [MemberData(nameof(Shapes))]
    public void MatchesReference(SimdLevel level, int h, int w, int c, int r, bool relu)
    {
        var rng = new Random((h * 31) + (w * 7) + (c * 1009) + r);
        int pixels = h * w;
        float[] input = Data.Random(rng, c * pixels, 2f);
        float[] reduceW = Data.Random(rng, r * c);
        float[] reduceB = Data.Random(rng, r, 0.5f);
        float[] expandW = Data.Random(rng, c * r, 2f);
        float[] expandB = Data.Random(rng, c, 0.5f);
        int cp = Data.RoundUp16(c);

        double[] expected = Reference(input, c, pixels, r, reduceW, reduceB, expandW, expandB, relu);

        var rw = new Native(PackedSize.SeReduce(r, c));
        WeightPacking.PackSeReduce(reduceW, r, c, rw.Data);
        var rb = new Native(PackedSize.SeReduceBias(r));
        WeightPacking.PackBias(reduceB, r, rb.Data);
        var ew = new Native(PackedSize.SeExpand(c, r));
        WeightPacking.PackSeExpand(expandW, c, r, ew.Data);
        var eb = new Native(PackedSize.Bias(c));
        WeightPacking.PackBias(expandB, c, eb.Data);
        var x = new Native(Data.ChwToNhwc16(input, c, h, w));
        var scratch = new Native(cp + Data.RoundUp16(r));

        using (new SimdScope(level))
        {
            SqueezeExcite.Run(x.Ptr, pixels, c, cp, r, rw.Ptr, rb.Ptr, ew.Ptr, eb.Ptr, scratch.Ptr, relu);
        }

        x.AssertGuardsIntact();
        scratch.AssertGuardsIntact();
        float[] actual = Data.Nhwc16ToChw(x.Data, c, h, w);
        Data.AssertClose(expected, actual, $"squeeze-excite {level}");
    }

    /// <summary>
    /// Plain SE on CHW with [R, C, 1, 1] / [C, R, 1, 1] weights:
    /// x * sigmoid(expand(relu(reduce(mean(x))))), then optional ReLU, double precision.
    /// </summary>
    private static double[] Reference(
        float[] x, int c, int pixels, int r, float[] reduceW, float[] reduceB, float[] expandW, float[] expandB, bool relu)
    {
        var mean = new double[c];
        for (int ch = 0; ch < c; ch++)
        {
            double s = 0;
            for (int p = 0; p < pixels; p++)
            {
                s += x[(ch * pixels) + p];
            }

            mean[ch] = s / pixels;
        }

        var hidden = new double[r];
        for (int j = 0; j < r; j++)
        {
            double s = reduceB[j];
            for (int ch = 0; ch < c; ch++)
            {
                s += reduceW[(j * c) + ch] * mean[ch];
            }

            hidden[j] = Math.Max(s, 0);
        }

        var output = new double[c * pixels];
        for (int ch = 0; ch < c; ch++)
        {
            double s = expandB[ch];
            for (int j = 0; j < r; j++)
            {
                s += expandW[(ch * r) + j] * hidden[j];
            }

            double gate = 1.0 / (1.0 + Math.Exp(-s));
            for (int p = 0; p < pixels; p++)
            {
                output[(ch * pixels) + p] = Data.Relu(x[(ch * pixels) + p] * gate, relu);
            }
        }

        return output;
    }
}
