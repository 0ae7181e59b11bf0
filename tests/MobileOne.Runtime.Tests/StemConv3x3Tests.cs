using System;
using System.Collections.Generic;
using MobileOne.Runtime;
using Xunit;

namespace MobileOne.Runtime.Tests;

[Collection(SimdCollection.Name)]
public sealed unsafe class StemConv3x3Tests
{
    public static IEnumerable<object[]> Shapes() => Cases.WithLevels(new[]
    {
        // cin, cout, h, w, stride, relu
        new object[] { 3, 16, 7, 7, 1, true },
        new object[] { 3, 48, 13, 11, 2, true },
        new object[] { 1, 13, 9, 5, 2, false },
        new object[] { 3, 70, 9, 5, 1, false },
        new object[] { 5, 3, 1, 1, 1, true },
        new object[] { 3, 1, 2, 2, 2, false },
        new object[] { 3, 16, 1, 9, 2, true },
        new object[] { 2, 48, 10, 12, 1, true },
        new object[] { 3, 48, 20, 23, 1, false },
        new object[] { 3, 64, 32, 30, 2, true },
        new object[] { 4, 70, 3, 17, 2, false },
        new object[] { 3, 80, 9, 40, 2, true },   // five blocks at Vector512: one pair of blocks and the last three in 8x48 tiles
        new object[] { 3, 112, 6, 20, 1, false }, // seven blocks: two pairs and 8x48, columns left over on the 4-pixel tiles
    });

    [SimdTheory]
    [MemberData(nameof(Shapes))]
    public void MatchesReference(SimdLevel level, int cin, int cout, int h, int w, int stride, bool relu)
    {
        var rng = new Random((cin * 1000) + (cout * 100) + (h * 10) + w + stride);
        float[] input = Data.Random(rng, cin * h * w);
        float[] weight = Data.Random(rng, cout * cin * 9, 0.5f);
        float[] bias = Data.Random(rng, cout, 0.5f);
        int oh = ((h + 2 - 3) / stride) + 1;
        int ow = ((w + 2 - 3) / stride) + 1;
        int cp = Data.RoundUp16(cout);

        double[] expected = Reference(input, cin, h, w, weight, bias, cout, oh, ow, stride, relu);

        var packedW = new Native(PackedSize.Stem(cout, cin));
        WeightPacking.PackStem(weight, cout, cin, packedW.Data);
        var packedB = new Native(PackedSize.Bias(cout));
        WeightPacking.PackBias(bias, cout, packedB.Data);
        var x = new Native(input);
        var y = new Native(oh * ow * cp);

        using (new SimdScope(level))
        {
            StemConv3x3.Run(x.Ptr, cin, h, w, packedW.Ptr, packedB.Ptr, y.Ptr, cp, oh, ow, stride, relu);
        }

        y.AssertGuardsIntact();
        Assert.Equal(input, x.ToArray());
        float[] actual = Data.Nhwc16ToChw(y.Data, cout, oh, ow);
        Data.AssertClose(expected, actual, $"stem {level}");
    }

    [Fact]
    public void RejectsWrongOutputSize()
    {
        var x = new Native(3 * 8 * 8, 0f);
        var w = new Native(PackedSize.Stem(16, 3), 0f);
        var b = new Native(16, 0f);
        var y = new Native(16 * 8 * 8, 0f);
        Assert.Throws<ArgumentOutOfRangeException>(
            () => StemConv3x3.Run(x.Ptr, 3, 8, 8, w.Ptr, b.Ptr, y.Ptr, 16, 5, 4, 2, true));
        Assert.Throws<ArgumentOutOfRangeException>(
            () => StemConv3x3.Run(x.Ptr, 3, 8, 8, w.Ptr, b.Ptr, y.Ptr, 12, 4, 4, 2, true));
    }

    /// <summary>Plain PyTorch-layout conv: CHW input, OIHW weight, pad 1, double precision.</summary>
    private static double[] Reference(
        float[] input, int cin, int h, int w, float[] weight, float[] bias, int cout, int oh, int ow, int stride, bool relu)
    {
        var output = new double[cout * oh * ow];
        for (int o = 0; o < cout; o++)
        {
            for (int oy = 0; oy < oh; oy++)
            {
                for (int ox = 0; ox < ow; ox++)
                {
                    double s = bias[o];
                    for (int ci = 0; ci < cin; ci++)
                    {
                        for (int ky = 0; ky < 3; ky++)
                        {
                            for (int kx = 0; kx < 3; kx++)
                            {
                                int iy = (oy * stride) - 1 + ky;
                                int ix = (ox * stride) - 1 + kx;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                                {
                                    continue;
                                }

                                s += (double)input[(((ci * h) + iy) * w) + ix] * weight[(((((o * cin) + ci) * 3) + ky) * 3) + kx];
                            }
                        }
                    }

                    output[(((o * oh) + oy) * ow) + ox] = Data.Relu(s, relu);
                }
            }
        }

        return output;
    }
}
