using System;
using System.Collections.Generic;
using MobileOne.Runtime;
using Xunit;

namespace MobileOne.Runtime.Tests;

[Collection(SimdCollection.Name)]
public sealed unsafe class LinearTests
{
    public static IEnumerable<object[]> Shapes() => Cases.WithLevels(new[]
    {
        // inFeatures, outFeatures
        new object[] { 1, 1 },
        new object[] { 3, 13 },
        new object[] { 70, 16 },
        new object[] { 130, 70 },
        new object[] { 48, 3 },
        new object[] { 16, 1000 },
        new object[] { 1024, 70 },
        new object[] { 13, 48 },
    });

    [SimdTheory]
    [MemberData(nameof(Shapes))]
    public void MatchesReference(SimdLevel level, int inFeatures, int outFeatures)
    {
        var rng = new Random((inFeatures * 7) + outFeatures);
        float[] input = Data.Random(rng, inFeatures);
        float[] weight = Data.Random(rng, outFeatures * inFeatures);
        float[] bias = Data.Random(rng, outFeatures);
        int np = Data.RoundUp16(outFeatures);

        var expected = new double[outFeatures];
        for (int n = 0; n < outFeatures; n++)
        {
            double s = bias[n];
            for (int i = 0; i < inFeatures; i++)
            {
                s += (double)weight[(n * inFeatures) + i] * input[i];
            }

            expected[n] = s;
        }

        var packedW = new Native(PackedSize.Linear(outFeatures, inFeatures));
        WeightPacking.PackLinear(weight, outFeatures, inFeatures, packedW.Data);
        var packedB = new Native(PackedSize.Bias(outFeatures));
        WeightPacking.PackBias(bias, outFeatures, packedB.Data);
        var x = new Native(input);
        var y = new Native(np);

        using (new SimdScope(level))
        {
            Linear.Run(x.Ptr, inFeatures, packedW.Ptr, packedB.Ptr, np, y.Ptr);
        }

        y.AssertGuardsIntact();
        Data.AssertPaddingZero(y.Data, outFeatures);
        Data.AssertClose(expected, y.Data.Slice(0, outFeatures), $"linear {level}");
    }
}
