using System;
using System.Collections.Generic;
using MobileOne.Runtime;
using Xunit;

namespace MobileOne.Runtime.Tests;

[Collection(SimdCollection.Name)]
public sealed unsafe class DepthwiseConv3x3Tests
{
    public static IEnumerable<object[]> Shapes() => Cases.WithLevels(new[]
    {
        // channels, h, w, stride, relu
        new object[] { 1, 7, 7, 1, true },
        new object[] { 3, 9, 5, 1, false },
        new object[] { 13, 13, 11, 2, true },
        new object[] { 16, 7, 7, 2, false },
        new object[] { 48, 9, 5, 2, true },
        new object[] { 70, 13, 11, 1, false },
        new object[] { 16, 1, 1, 1, true },
        new object[] { 3, 1, 1, 2, false },
        new object[] { 13, 2, 3, 2, true },
        new object[] { 48, 3, 1, 1, false },
        new object[] { 70, 1, 7, 2, true },
        new object[] { 16, 4, 4, 2, true },
        new object[] { 48, 14, 14, 1, true },
        new object[] { 70, 2, 2, 1, false },
        new object[] { 64, 22, 21, 2, true },   // stride 2, groups of four interior pixels (9 and 10 per row: two groups and 1-2 left), four blocks
        new object[] { 40, 18, 19, 2, false },  // stride 2, three blocks, 8-9 interior pixels per row
        new object[] { 96, 9, 12, 1, true },    // stride 1 at Vector512: interior rows in pairs (3 pairs + 1), 2 groups of four + 2 per row
        new object[] { 280, 5, 11, 1, false },  // 18 blocks: the two-row path in three strips of six blocks
    });

    [SimdTheory]
    [MemberData(nameof(Shapes))]
    public void MatchesReference(SimdLevel level, int c, int h, int w, int stride, bool relu)
    {
        var rng = new Random((c * 1000) + (h * 37) + (w * 11) + stride);
        float[] input = Data.Random(rng, c * h * w);
        float[] weight = Data.Random(rng, c * 9);
        float[] bias = Data.Random(rng, c, 0.5f);
        int oh = ((h + 2 - 3) / stride) + 1;
        int ow = ((w + 2 - 3) / stride) + 1;
        int cp = Data.RoundUp16(c);

        double[] expected = Reference(input, c, h, w, weight, bias, oh, ow, stride, relu);

        var packedW = new Native(PackedSize.Depthwise(c));
        WeightPacking.PackDepthwise(weight, c, packedW.Data);
        var packedB = new Native(PackedSize.Bias(c));
        WeightPacking.PackBias(bias, c, packedB.Data);
        float[] nhwc = Data.ChwToNhwc16(input, c, h, w);
        var x = new Native(nhwc);
        var y = new Native(oh * ow * cp);

        using (new SimdScope(level))
        {
            DepthwiseConv3x3.Run(x.Ptr, h, w, cp, packedW.Ptr, packedB.Ptr, y.Ptr, oh, ow, stride, relu);
        }

        y.AssertGuardsIntact();
        Assert.Equal(nhwc, x.ToArray());
        float[] actual = Data.Nhwc16ToChw(y.Data, c, oh, ow);
        Data.AssertClose(expected, actual, $"depthwise {level}");
    }

    [Fact]
    public void RejectsBadArguments()
    {
        var x = new Native(16 * 7 * 7, 0f);
        var w = new Native(9 * 16, 0f);
        var b = new Native(16, 0f);
        var y = new Native(16 * 7 * 7, 0f);
        Assert.Throws<ArgumentOutOfRangeException>(() => DepthwiseConv3x3.Run(x.Ptr, 7, 7, 16, w.Ptr, b.Ptr, y.Ptr, 7, 6, 1, true));
        Assert.Throws<ArgumentOutOfRangeException>(() => DepthwiseConv3x3.Run(x.Ptr, 7, 7, 20, w.Ptr, b.Ptr, y.Ptr, 7, 7, 1, true));
        Assert.Throws<ArgumentOutOfRangeException>(() => DepthwiseConv3x3.Run(x.Ptr, 7, 7, 16, w.Ptr, b.Ptr, y.Ptr, 7, 7, 0, true));
    }

    /// <summary>Plain grouped conv (groups = C): CHW input, [C, 1, 3, 3] weight, pad 1, double precision.</summary>
    private static double[] Reference(
        float[] input, int c, int h, int w, float[] weight, float[] bias, int oh, int ow, int stride, bool relu)
    {
        var output = new double[c * oh * ow];
        for (int ch = 0; ch < c; ch++)
        {
            for (int oy = 0; oy < oh; oy++)
            {
                for (int ox = 0; ox < ow; ox++)
                {
                    double s = bias[ch];
                    for (int ky = 0; ky < 3; ky++)
                    {
                        for (int kx = 0; kx < 3; kx++)
                        {
                            int iy = (oy * stride) - 1 + ky;
                            int ix = (ox * stride) - 1 + kx;
                            if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                            {
                                s += (double)input[(((ch * h) + iy) * w) + ix] * weight[(ch * 9) + (ky * 3) + kx];
                            }
                        }
                    }

                    output[(((ch * oh) + oy) * ow) + ox] = Data.Relu(s, relu);
                }
            }
        }

        return output;
    }
}
