using System;
using MobileOne.Runtime;
using Xunit;

namespace MobileOne.Runtime.Tests;

public sealed class WeightPackingTests
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 16)]
    [InlineData(15, 16)]
    [InlineData(16, 16)]
    [InlineData(17, 32)]
    [InlineData(1000, 1008)]
    public void RoundUp16(int n, int expected) => Assert.Equal(expected, PackedSize.RoundUp16(n));

    [Fact]
    public void SizesMatchTheDesignTable()
    {
        Assert.Equal(48 * 3 * 9, PackedSize.Stem(48, 3));
        Assert.Equal(16 * 3 * 9, PackedSize.Stem(13, 3));
        Assert.Equal(80 * 1 * 9, PackedSize.Stem(70, 1));
        Assert.Equal(9 * 80, PackedSize.Depthwise(70));
        Assert.Equal(9 * 16, PackedSize.Depthwise(1));
        Assert.Equal(80 * 13, PackedSize.Pointwise(70, 13));
        Assert.Equal(1024 * 256, PackedSize.Pointwise(1024, 256));
        Assert.Equal(80, PackedSize.Bias(70));
        Assert.Equal(17 * 80, PackedSize.SeReduce(17, 70));
        Assert.Equal(32, PackedSize.SeReduceBias(17));
        Assert.Equal(17 * 80, PackedSize.SeExpand(70, 17));
        Assert.Equal(1024 * 1008, PackedSize.Linear(1000, 1024));
        Assert.Throws<ArgumentOutOfRangeException>(() => PackedSize.RoundUp16(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PackedSize.Pointwise(16, -1));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(13, 3)]
    [InlineData(48, 3)]
    [InlineData(70, 2)]
    public void StemLayout(int cout, int cin)
    {
        float[] src = Sequence(cout * cin * 9);
        float[] dst = Filled(PackedSize.Stem(cout, cin));
        WeightPacking.PackStem(src, cout, cin, dst);
        int coutP = Data.RoundUp16(cout);
        for (int o = 0; o < coutP; o++)
        {
            for (int ci = 0; ci < cin; ci++)
            {
                for (int ky = 0; ky < 3; ky++)
                {
                    for (int kx = 0; kx < 3; kx++)
                    {
                        // [CoutP/16][Cin][3][3][16]
                        float packed = dst[(((((((o / 16) * cin) + ci) * 3) + ky) * 3 + kx) * 16) + (o % 16)];
                        float expected = o < cout ? src[(((((o * cin) + ci) * 3) + ky) * 3) + kx] : 0f;
                        Assert.Equal(expected, packed);
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(70)]
    public void DepthwiseLayout(int c)
    {
        float[] src = Sequence(c * 9);
        float[] dst = Filled(PackedSize.Depthwise(c));
        WeightPacking.PackDepthwise(src, c, dst);
        int cp = Data.RoundUp16(c);
        for (int t = 0; t < 9; t++)
        {
            for (int ch = 0; ch < cp; ch++)
            {
                Assert.Equal(ch < c ? src[(ch * 9) + t] : 0f, dst[(t * cp) + ch]);
            }
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(13, 70)]
    [InlineData(48, 16)]
    [InlineData(70, 3)]
    public void PointwiseLayout(int cout, int cin)
    {
        float[] src = Sequence(cout * cin);
        float[] dst = Filled(PackedSize.Pointwise(cout, cin));
        WeightPacking.PackPointwise(src, cout, cin, dst);
        int coutP = Data.RoundUp16(cout);
        for (int o = 0; o < coutP; o++)
        {
            for (int k = 0; k < cin; k++)
            {
                Assert.Equal(o < cout ? src[(o * cin) + k] : 0f, dst[((((o / 16) * cin) + k) * 16) + (o % 16)]);
            }
        }
    }

    [Fact]
    public void BiasIsCopiedAndZeroPadded()
    {
        float[] src = Sequence(19);
        float[] dst = Filled(40);
        WeightPacking.PackBias(src, 19, dst);
        for (int i = 0; i < 32; i++)
        {
            Assert.Equal(i < 19 ? src[i] : 0f, dst[i]);
        }

        // Only the packed prefix is written.
        Assert.True(float.IsNaN(dst[32]));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(4, 13)]
    [InlineData(17, 70)]
    public void SqueezeExciteLayouts(int r, int c)
    {
        int cp = Data.RoundUp16(c);
        float[] reduce = Sequence(r * c);
        float[] reduceDst = Filled(PackedSize.SeReduce(r, c));
        WeightPacking.PackSeReduce(reduce, r, c, reduceDst);
        float[] expand = Sequence(c * r);
        float[] expandDst = Filled(PackedSize.SeExpand(c, r));
        WeightPacking.PackSeExpand(expand, c, r, expandDst);
        for (int j = 0; j < r; j++)
        {
            for (int ch = 0; ch < cp; ch++)
            {
                Assert.Equal(ch < c ? reduce[(j * c) + ch] : 0f, reduceDst[(j * cp) + ch]);
                Assert.Equal(ch < c ? expand[(ch * r) + j] : 0f, expandDst[(j * cp) + ch]);
            }
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1000, 3)]
    [InlineData(13, 70)]
    public void LinearLayout(int n, int cin)
    {
        int np = Data.RoundUp16(n);
        float[] src = Sequence(n * cin);
        float[] dst = Filled(PackedSize.Linear(n, cin));
        WeightPacking.PackLinear(src, n, cin, dst);
        for (int i = 0; i < cin; i++)
        {
            for (int o = 0; o < np; o++)
            {
                Assert.Equal(o < n ? src[(o * cin) + i] : 0f, dst[((((o / 16) * cin) + i) * 16) + (o % 16)]);
            }
        }
    }

    [Fact]
    public void WrongLengthsThrowWithExpectedCounts()
    {
        var e1 = Assert.Throws<ArgumentException>(() => WeightPacking.PackPointwise(new float[10], 3, 4, new float[64]));
        Assert.Contains("12", e1.Message, StringComparison.Ordinal);
        var e2 = Assert.Throws<ArgumentException>(() => WeightPacking.PackPointwise(new float[12], 3, 4, new float[63]));
        Assert.Contains("64", e2.Message, StringComparison.Ordinal);
        var e3 = Assert.Throws<ArgumentException>(() => WeightPacking.PackStem(new float[27], 1, 3, new float[10]));
        Assert.Contains("432", e3.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => WeightPacking.PackDepthwise(new float[8], 1, new float[144]));
        Assert.Throws<ArgumentException>(() => WeightPacking.PackBias(new float[5], 4, new float[16]));
        Assert.Throws<ArgumentException>(() => WeightPacking.PackSeReduce(new float[6], 2, 2, new float[32]));
        Assert.Throws<ArgumentException>(() => WeightPacking.PackSeExpand(new float[4], 2, 2, new float[31]));
        Assert.Throws<ArgumentException>(() => WeightPacking.PackLinear(new float[4], 2, 2, new float[31]));
        Assert.Throws<ArgumentOutOfRangeException>(() => WeightPacking.PackBias(Array.Empty<float>(), 0, new float[16]));
    }

    /// <summary>Distinct non-zero values so a misplaced element is detected.</summary>
    private static float[] Sequence(int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = i + 1;
        }

        return a;
    }

    private static float[] Filled(int n)
    {
        var a = new float[n];
        Array.Fill(a, float.NaN);
        return a;
    }
}
