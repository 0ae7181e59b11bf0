using System;
using System.Linq;
using MobileOne.Runtime;
using Xunit;

namespace MobileOne.Runtime.Tests.Int8;

/// <summary><see cref="Int8Packing"/>: the packed layouts and the pair rule.</summary>
public sealed class Int8PackingTests
{
    [Fact]
    public void PointwisePutsFourInputChannelsOfAnOutputChannelInFourConsecutiveBytes()
    {
        const int outChannels = 17, inChannels = 6;
        sbyte[] w = Enumerable.Range(0, outChannels * inChannels).Select(i => (sbyte)((i % 200) - 100)).ToArray();
        Assert.Equal(32 * 16, Int8Packing.PackedPointwiseLength(outChannels, inChannels));
        sbyte[] packed = Enumerable.Repeat((sbyte)99, 32 * 16 + 5).ToArray();
        Int8Packing.PackPointwise(w, outChannels, inChannels, packed);

        // [CoutP/16][CinP/4][16][4]: CinP = 16, so 4 steps of 64 bytes per 16-output block.
        for (int o = 0; o < 32; o++)
        {
            for (int i = 0; i < 16; i++)
            {
                sbyte expected = o < outChannels && i < inChannels ? w[(o * inChannels) + i] : (sbyte)0;
                Assert.Equal(expected, packed[(o / 16 * 4 * 64) + (i / 4 * 64) + (o % 16 * 4) + (i % 4)]);
            }
        }

        Assert.All(packed.Skip(32 * 16), b => Assert.Equal(99, b));
    }

    [Fact]
    public void DepthwiseIsTheFp32LayoutOfIntegerValuedFloats()
    {
        const int channels = 17;
        sbyte[] w = Enumerable.Range(0, channels * 9).Select(i => (sbyte)(127 - i)).ToArray();
        float[] packed = new float[Int8Packing.PackedDepthwiseLength(channels)];
        Assert.Equal(9 * 32, packed.Length);
        Int8Packing.PackDepthwise(w, channels, packed);
        var fp32 = new float[PackedSize.Depthwise(channels)];
        WeightPacking.PackDepthwise(w.Select(v => (float)v).ToArray(), channels, fp32);
        Assert.Equal(fp32, packed);
    }

    [Theory]
    [InlineData(100, 29, 0)]
    [InlineData(29, 100, 0)]
    [InlineData(-100, -29, 0)]
    [InlineData(127, 2, 0)]
    [InlineData(-128, 0, 0)]
    [InlineData(0, -128, 0)]
    public void TheFinderReportsAPairBeyond128OrAMinus128(int a, int b, int expectedPair)
    {
        // Output channel 2, pair 3 breaks the rule; everything else is at the limit or below.
        const int outChannels = 4, inChannels = 9;
        sbyte[] w = new sbyte[outChannels * inChannels];
        for (int o = 0; o < outChannels; o++)
        {
            for (int j = 0; j < 4; j++)
            {
                w[(o * inChannels) + (2 * j)] = (sbyte)(o % 2 == 0 ? 64 : -127);
                w[(o * inChannels) + (2 * j) + 1] = (sbyte)(o % 2 == 0 ? 64 : -1);
            }

            w[(o * inChannels) + 8] = 127; // the last odd channel pairs with a zero
        }

        Assert.Equal((-1, -1), Int8Packing.FindPairOverflow(w, outChannels, inChannels));
        w[(2 * inChannels) + 6] = (sbyte)a;
        w[(2 * inChannels) + 7] = (sbyte)b;
        Assert.Equal((2, 3 + expectedPair), Int8Packing.FindPairOverflow(w, outChannels, inChannels));
        w[(3 * inChannels) + 8] = -128;
        Assert.Equal((2, 3), Int8Packing.FindPairOverflow(w, outChannels, inChannels)); // the first in row-major order
    }

    [Fact]
    public void ALoneMinus128InTheLastOddChannelIsReported()
    {
        sbyte[] w = { 1, 2, -128 };
        Assert.Equal((0, 1), Int8Packing.FindPairOverflow(w, 1, 3));
    }

    [Fact]
    public void WrongLengthsAreRejectedByName()
    {
        PointwiseConvInt8Tests.AssertParam("weights", () => Int8Packing.PackPointwise(new sbyte[11], 3, 4, new sbyte[256]));
        PointwiseConvInt8Tests.AssertParam("packed", () => Int8Packing.PackPointwise(new sbyte[12], 3, 4, new sbyte[255]));
        PointwiseConvInt8Tests.AssertParam("weights", () => Int8Packing.PackDepthwise(new sbyte[26], 3, new float[144]));
        PointwiseConvInt8Tests.AssertParam("packed", () => Int8Packing.PackDepthwise(new sbyte[27], 3, new float[143]));
        PointwiseConvInt8Tests.AssertParam("weights", () => Int8Packing.FindPairOverflow(new sbyte[13], 3, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => Int8Packing.PackedPointwiseLength(0, 4));
    }
}
