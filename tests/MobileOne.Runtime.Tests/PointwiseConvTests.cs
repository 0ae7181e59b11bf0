using System;
using System.Collections.Generic;
using MobileOne.Runtime;
using Xunit;

namespace MobileOne.Runtime.Tests;

[Collection(SimdCollection.Name)]
public sealed unsafe class PointwiseConvTests
{
    public static IEnumerable<object[]> Shapes() => Cases.WithLevels(new[]
    {
        // h, w, cin, cout, relu
        new object[] { 1, 1, 1, 1, true },
        new object[] { 1, 3, 3, 13, false },
        new object[] { 2, 2, 16, 16, true },
        new object[] { 1, 5, 13, 48, false },
        new object[] { 3, 3, 70, 70, true },
        new object[] { 3, 11, 48, 3, false },
        new object[] { 7, 7, 16, 48, true },
        new object[] { 1, 7, 70, 16, false },
        new object[] { 3, 4, 3, 70, true },
        new object[] { 1, 1, 48, 70, false },
        new object[] { 9, 5, 13, 32, true },
        new object[] { 25, 44, 16, 32, true },   // 1100 pixels: more than one cache chunk
        new object[] { 13, 11, 130, 50, false },
        new object[] { 2, 5, 20, 64, true },     // 8 + 2: Vector512 tiles of 8 rows and a 2-row tail, two 32-wide panels
        new object[] { 4, 7, 33, 80, false },    // 24 + 4: tail of 4, 32+32+16 output channels
        new object[] { 3, 5, 17, 96, true },     // 8 + 7
        new object[] { 1, 14, 9, 16, true },     // 8 + 6, one 16-wide block
        new object[] { 40, 50, 8, 40, false },   // 2000 pixels: several Vector512 chunks
        new object[] { 7, 7, 520, 96, true },    // weights outweigh activations: threads split output channels
        new object[] { 7, 7, 130, 80, true },    // Vector512 deep tiles (cin >= 128): 49 = 13+12+12+12, 32+32+16 channels, no next pair to prefetch
        new object[] { 1, 14, 128, 64, false },  // one full 14-pixel tile, two panel pairs (the second prefetched)
        new object[] { 3, 9, 200, 160, true },   // 27 = 14+13, five panel pairs
        new object[] { 40, 40, 144, 32, true },  // 1600 pixels x 144 channels: several balanced L2 chunks of deep tiles
        new object[] { 14, 14, 576, 512, false }, // weights over half a 2 MB L2, input under: one chunk where it would be two
    });

    [SimdTheory]
    [MemberData(nameof(Shapes))]
    public void MatchesReference(SimdLevel level, int h, int w, int cin, int cout, bool relu)
    {
        var rng = new Random((h * 7919) + (w * 101) + (cin * 13) + cout);
        int pixels = h * w;
        float[] input = Data.Random(rng, cin * pixels);
        float[] weight = Data.Random(rng, cout * cin, 0.5f);
        float[] bias = Data.Random(rng, cout, 0.5f);
        int cinP = Data.RoundUp16(cin);
        int coutP = Data.RoundUp16(cout);

        double[] expected = Reference(input, cin, pixels, weight, bias, cout, relu);

        var packedW = new Native(PackedSize.Pointwise(cout, cin));
        WeightPacking.PackPointwise(weight, cout, cin, packedW.Data);
        var packedB = new Native(PackedSize.Bias(cout));
        WeightPacking.PackBias(bias, cout, packedB.Data);
        float[] nhwc = Data.ChwToNhwc16(input, cin, h, w);
        var x = new Native(nhwc);
        var y = new Native(pixels * coutP);

        using (new SimdScope(level))
        {
            PointwiseConv.Run(x.Ptr, pixels, cin, cinP, packedW.Ptr, packedB.Ptr, y.Ptr, coutP, relu);
        }

        y.AssertGuardsIntact();
        Assert.Equal(nhwc, x.ToArray());
        float[] actual = Data.Nhwc16ToChw(y.Data, cout, h, w);
        Data.AssertClose(expected, actual, $"pointwise {level}");
    }

    [Fact]
    public void RejectsBadPadding()
    {
        var x = new Native(32, 0f);
        var w = new Native(PackedSize.Pointwise(16, 20), 0f);
        var b = new Native(16, 0f);
        var y = new Native(16, 0f);
        Assert.Throws<ArgumentOutOfRangeException>(() => PointwiseConv.Run(x.Ptr, 1, 20, 16, w.Ptr, b.Ptr, y.Ptr, 16, true));
        Assert.Throws<ArgumentOutOfRangeException>(() => PointwiseConv.Run(x.Ptr, 1, 20, 32, w.Ptr, b.Ptr, y.Ptr, 8, true));
    }

    /// <summary>1x1 conv on CHW with an [Cout, Cin, 1, 1] weight, double precision.</summary>
    private static double[] Reference(float[] input, int cin, int pixels, float[] weight, float[] bias, int cout, bool relu)
    {
        var output = new double[cout * pixels];
        for (int o = 0; o < cout; o++)
        {
            for (int p = 0; p < pixels; p++)
            {
                double s = bias[o];
                for (int k = 0; k < cin; k++)
                {
                    s += (double)input[(k * pixels) + p] * weight[(o * cin) + k];
                }

                output[(o * pixels) + p] = Data.Relu(s, relu);
            }
        }

        return output;
    }
}
