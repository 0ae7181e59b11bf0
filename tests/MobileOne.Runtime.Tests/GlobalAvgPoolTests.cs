using System;
using System.Collections.Generic;
using MobileOne.Runtime;
using Xunit;

namespace MobileOne.Runtime.Tests;

[Collection(SimdCollection.Name)]
public sealed unsafe class GlobalAvgPoolTests
{
    public static IEnumerable<object[]> Shapes() => Cases.WithLevels(new[]
    {
        // h, w, channels
        new object[] { 1, 1, 1 },
        new object[] { 1, 7, 3 },
        new object[] { 7, 7, 13 },
        new object[] { 3, 3, 16 },
        new object[] { 7, 7, 48 },
        new object[] { 1, 5, 70 },
        new object[] { 56, 56, 16 },
        new object[] { 2, 3, 70 },
        new object[] { 5, 3, 140 },  // Vector512: two groups of four blocks and one block left, 15 pixels (3 x 4 + 3)
    });

    [SimdTheory]
    [MemberData(nameof(Shapes))]
    public void MatchesReference(SimdLevel level, int h, int w, int c)
    {
        var rng = new Random((h * 131) + (w * 17) + c);
        int pixels = h * w;
        float[] input = Data.Random(rng, c * pixels, 3f);
        int cp = Data.RoundUp16(c);

        var expected = new double[c];
        for (int ch = 0; ch < c; ch++)
        {
            double s = 0;
            for (int p = 0; p < pixels; p++)
            {
                s += input[(ch * pixels) + p];
            }

            expected[ch] = s / pixels;
        }

        var x = new Native(Data.ChwToNhwc16(input, c, h, w));
        var y = new Native(cp);

        using (new SimdScope(level))
        {
            GlobalAvgPool.Run(x.Ptr, pixels, cp, y.Ptr);
        }

        y.AssertGuardsIntact();
        Data.AssertPaddingZero(y.Data, c);
        Data.AssertClose(expected, y.Data.Slice(0, c), $"global average pool {level}");
    }
}
